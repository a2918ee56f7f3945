"""The GitHub Actions workflow that `digest init` writes: weekly fetch, commit, build, deploy
with the official Pages actions (or, with review, a pull request for the editor)."""

from __future__ import annotations

from digest import __version__

INSTALL = f'pip install "digest @ git+https://github.com/digest-ssg/digest@v{__version__}"'

_HEAD = """\
# Every week: fetch new items, commit them (content history lives in git, and the weekly
# commit keeps the schedule alive: GitHub switches off scheduled workflows after 60 days
# without repository activity), build the site and deploy it to GitHub Pages.
# In the repository's settings, set Pages > Source to "GitHub Actions".
name: digest

on:
  schedule:
    - cron: "17 6 * * 1"        # Mondays, 06:17 UTC
  push:
    branches: [main]
  workflow_dispatch:

concurrency:
  group: pages
  cancel-in-progress: false

permissions:
  contents: read

jobs:
"""

_UPDATE = """\
  update:
    if: github.event_name != 'push'
    runs-on: ubuntu-latest
    permissions:
      contents: write{pr_permission}
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - run: {install}
      - name: digest fetch (exit 1 = some feeds failed; the others are stored)
        run: digest fetch || [ $? -eq 1 ]
      - run: digest check
      - run: digest select --explain | tee selection.txt
{commit}
"""

_COMMIT = """\
      - name: Commit new items and the fetch state
        run: |
          git config user.name "digest bot"
          git config user.email "digest-bot@users.noreply.github.com"
          git add content .digest/state.json
          git diff --cached --quiet || git commit -m "Fetch $(date -u +%Y-%m-%d)"
          git push
"""

_REVIEW = """\
      # Needs Settings > Actions > General > "Allow GitHub Actions to create and approve
      # pull requests" (off by default).
      - name: Open a pull request with the week's items for review
        env:
          GH_TOKEN: ${{ github.token }}
        run: |
          git config user.name "digest bot"
          git config user.email "digest-bot@users.noreply.github.com"
          branch="fetch-$(date -u +%Y-%m-%d)"
          git switch -c "$branch"
          git add content .digest/state.json
          git diff --cached --quiet && exit 0
          git commit -m "Fetch $(date -u +%Y-%m-%d)"
          git push -u origin "$branch"
          { echo '```'; cat selection.txt; echo '```'; } > body.md
          gh pr create --title "This week's items ($(date -u +%Y-%m-%d))" --body-file body.md
"""

_BUILD = """\
  build:
    needs: update
    if: always() && (needs.update.result == 'success' || needs.update.result == 'skipped')
             {build_condition}
    runs-on: ubuntu-latest
    permissions:
      contents: read
      pages: read    # configure-pages reads the Pages settings (needed in private repositories)
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{{{ github.ref_name }}}}    # the commit the update job just pushed
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - run: {install}
      - id: pages
        uses: actions/configure-pages@v5
      - run: digest build --base-url "${{{{ steps.pages.outputs.base_url }}}}/"
      - uses: actions/upload-pages-artifact@v3
        with:
          path: output

  deploy:
    needs: build
    runs-on: ubuntu-latest
    permissions:
      pages: write
      id-token: write
    environment:
      name: github-pages
      url: ${{{{ steps.deployment.outputs.page_url }}}}
    steps:
      - id: deployment
        uses: actions/deploy-pages@v4
"""


def workflow(review: bool = False) -> str:
    """The workflow file's text; with `review`, fetched items arrive as a pull request and
    the site is deployed when it is merged (a push to main)."""
    update = _UPDATE.format(
        pr_permission="\n      pull-requests: write" if review else "",
        install=INSTALL, commit=_REVIEW if review else _COMMIT)
    condition = "&& github.event_name == 'push'" if review else ""
    build = _BUILD.format(install=INSTALL, build_condition=condition)
    return _HEAD + update + "\n" + build
