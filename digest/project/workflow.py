"""The GitHub Actions workflow that `digest init` writes: weekly fetch, commit, build, deploy
with the official Pages actions (or, with review, a pull request for the editor).

GitHub skips a job when any job upstream of it failed or was skipped, unless the job's own
`if:` names a status function; `update` is skipped on a push, so `build` and `deploy` both say
`!cancelled()` and then name the result they need (tests/test_workflow.py evaluates the graph)."""

from __future__ import annotations

from digest import __version__
from digest.incremental.paths import ITEMS

DISTRIBUTION = "digest-ssg"
INSTALL = f"pip install {DISTRIBUTION}=={__version__}"  # the digest that wrote the workflow

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
    if: ${{{{ github.event_name != 'push' }}}}    # a push (your edits) publishes without fetching
    runs-on: ubuntu-latest
    permissions:
      contents: write{pr_permission}
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - run: {install}
{cache}      - name: digest fetch (exit 1 = some feeds failed; the others are stored)
        run: digest fetch || [ $? -eq 1 ]
      - run: digest check
      - run: digest select --explain | tee selection.txt
{commit}
"""

# The item store (.digest/items) from the last run: fetch fills it, build reads it, so each
# body is sanitized and highlighted once (a string put into the templates as it is).
_CACHE = f"""\
      - uses: actions/cache@v4    # the item store: each body is rendered once, at fetch
        with:
          path: .digest/{ITEMS}
          key: digest-items-${{{{ github.run_id }}}}
          restore-keys: digest-items-
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
    # Runs after a fetch that succeeded, or none (a push); never after a failed one.
    if: >-
      ${{{{ !cancelled()
      && (needs.update.result == 'success' || needs.update.result == 'skipped'){build_condition}
      }}}}
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
{cache}      - id: pages
        uses: actions/configure-pages@v5
      - run: digest build --base-url "${{{{ steps.pages.outputs.base_url }}}}/"
      - uses: actions/upload-pages-artifact@v3
        with:
          path: output

  deploy:
    needs: build
    # Without its own condition, deploy would be skipped whenever update was (on every push).
    if: ${{{{ !cancelled() && needs.build.result == 'success' }}}}
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
    the site is deployed when it is merged (a push to main) or on a run by hand, never by the
    weekly schedule alone."""
    update = _UPDATE.format(
        pr_permission="\n      pull-requests: write" if review else "",
        install=INSTALL, cache=_CACHE, commit=_REVIEW if review else _COMMIT)
    on_push_or_by_hand = "github.event_name == 'push' || github.event_name == 'workflow_dispatch'"
    condition = f"\n      && ({on_push_or_by_hand})" if review else ""
    build = _BUILD.format(install=INSTALL, cache=_CACHE, build_condition=condition)
    return _HEAD + update + "\n" + build
