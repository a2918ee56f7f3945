"""Per-feed cleanup rules: `remove` (CSS selectors) and `replace` (patterns on text) in
[[feeds]], applied when an item is stored and again by `digest fetch --reprocess`; the real
CLI, real files, a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from pytest_httpserver import HTTPServer
from selectolax.lexbor import LexborHTMLParser

from digest.content import contentfile
from digest.html.sanitize import clean_html
from tests.conftest import FIXTURES, ROOT

Run = Callable[..., Result]
Project = Callable[..., Path]

SITE = """\
[site]
title = "Cleanup test"
base_url = "https://user.github.io/my-digest/"
language = "en"
timezone = "UTC"
"""
PAYLOADS: list[str] = json.loads((FIXTURES / "xss-basic.json").read_text(encoding="utf-8"))



def rss(*bodies: str) -> str:
    """An RSS feed with one item per body (item n links to /posts/n)."""
    items = "".join(
        f"<item><title>Post {n}</title><link>https://blog.example/posts/{n}</link>"
        f"<guid>post-{n}</guid><pubDate>Tue, 10 Mar 2026 1{n % 10}:00:00 GMT</pubDate>"
        f"<description><![CDATA[{body}]]></description></item>"
        for n, body in enumerate(bodies))
    return ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Blog</title><link>https://blog.example/</link>{items}</channel></rss>")


def feed(slug: str, url: str, rules: str = "") -> str:
    return f'\n[[feeds]]\nslug = "{slug}"\ntitle = "{slug.title()}"\nurl = "{url}"\n{rules}\n'


def serve(server: HTTPServer, path: str, text: str) -> str:
    server.expect_request(path).respond_with_data(text, content_type="application/rss+xml")
    return server.url_for(path)


def stored(root: Path) -> list[tuple[dict[str, object], str]]:
    """(front matter, body) of every content file."""
    return [contentfile.read(path) for path in sorted((root / "content" / "items").rglob("*.md"))]


def files(root: Path) -> dict[str, Path]:
    return {str(contentfile.read(p)[0]["title"]): p
            for p in sorted((root / "content" / "items").rglob("*.md"))}


def error_lines(result: Result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("error:")]


# --- remove ---------------------------------------------------------------------------


def test_a_remove_selector_drops_the_element_at_fetch_and_only_in_its_feed(
        project: Project, run: Run, httpserver: HTTPServer) -> None:
    body = ('<p>The post.</p><figure id="share"><a href="https://blog.example/share">Share'
            '</a></figure><p>More of the post.</p><br><br>'
            '<a href="https://blog.example/posts/0#comments">Discuss</a>')
    ruled = serve(httpserver, "/ruled.xml", rss(body))
    plain = serve(httpserver, "/plain.xml", rss(body))
    rules = ("remove = ['#share', 'a[href$=\"#comments\"]:last-child', "
             "'br:has(+ a[href$=\"#comments\"]:last-child)', "
             "'br:has(+ br + a[href$=\"#comments\"]:last-child)']")
    root = project(config=SITE + feed("ruled", ruled, rules) + feed("plain", plain))
    result = run(root, "fetch")
    assert result.exit_code == 0, result.output
    bodies = {str(m["source"]): b for m, b in stored(root)}
    assert bodies["ruled"] == "<p>The post.</p>\n<p>More of the post.</p>"
    # The other feed has no rules: its item keeps everything.
    assert "Share" in bodies["plain"] and "Discuss</a>" in bodies["plain"]
    assert bodies["plain"].count("<br>") == 2


def test_rules_can_name_neighbours_of_each_others_matches(
        project: Project, run: Run, httpserver: HTTPServer) -> None:
    """Every match is found before anything is removed: the order of the rules is free."""
    url = serve(httpserver, "/f.xml", rss("<p>Text.</p><hr><p>Footer</p>"))
    rules = "remove = ['p:has(~ hr)', 'hr', 'hr + p']"
    root = project(config=SITE + feed("f", url, rules))
    assert run(root, "fetch").exit_code == 0
    assert [b for _, b in stored(root)] == [""]


# --- replace --------------------------------------------------------------------------


def test_replace_changes_text_and_never_markup_or_attributes(
        project: Project, run: Run, httpserver: HTTPServer) -> None:
    body = ('<p>Foo bar, foolish. <a href="https://blog.example/foo" title="foo">foo</a>'
            '<img src="https://blog.example/foo.png" alt="foo"></p><p>Call 555-1234 now</p>')
    url = serve(httpserver, "/f.xml", rss(body))
    rules = ('replace = [{pattern = "foo", with = "baz"},\n'
             '           {pattern = "/<p>|href|title/", with = "X"},\n'
             r'           {pattern = "/(\\d{3})-(\\d{4})/", with = "\\2-\\1"},' + "\n"
             '           {pattern = "now", with = "<b>now</b>"}]')
    root = project(config=SITE + feed("f", url, rules))
    result = run(root, "fetch")
    assert result.exit_code == 0, result.output
    [(_, stored_body)] = stored(root)
    # Whole words, any case, as digest's other patterns: "foolish" stays.
    assert stored_body.startswith("<p>baz bar, foolish. <a href=\"https://blog.example/foo\""
                                  " title=\"foo\"")
    assert ">baz</a>" in stored_body
    assert 'src="https://blog.example/foo.png"' in stored_body and 'alt="foo"' in stored_body
    assert stored_body.count("<p>") == 2 and "X" not in stored_body  # markup never matched
    assert "Call 1234-555" in stored_body  # groups
    # A replacement is text: its angle brackets are escaped, never an element.
    assert "&lt;b&gt;now&lt;/b&gt;" in stored_body and "<b>" not in stored_body


def test_a_runaway_pattern_fails_its_feed_only_with_one_line(
        project: Project, run: Run, httpserver: HTTPServer) -> None:
    slow = serve(httpserver, "/slow.xml", rss("<p>" + "a" * 5000 + "b</p>"))
    fine = serve(httpserver, "/fine.xml", rss("<p>Fine.</p>"))
    rules = 'replace = [{pattern = "/(a|aa)+$/", with = "x"}]'
    root = project(config=SITE + feed("slow", slow, rules) + feed("fine", fine))
    result = run(root, "fetch")
    assert result.exit_code == 1
    [line] = error_lines(result)
    assert "feeds.slow.replace[0]" in line and "(a|aa)+$" in line and "Traceback" not in \
        result.output
    assert [str(m["source"]) for m, _ in stored(root)] == ["fine"]


# --- configuration --------------------------------------------------------------------


@pytest.mark.parametrize(("rules", "key", "words"), [
    ("remove = ['p >']", "feeds[0].remove[0]", "'p >' is not a CSS selector"),
    ("remove = ['nav', 'a[href=]']", "feeds[0].remove[1]", "'a[href=]' is not a CSS selector"),
    ("remove = ['p:contains(Discuss)']", "feeds[0].remove[0]", "is not a CSS selector"),
    ("remove = ['']", "feeds[0].remove[0]", "is empty"),
    ("remove = [3]", "feeds[0].remove[0]", "must be a string"),
    ("remove = 'nav'", "feeds[0].remove", "must be a list"),
    ('replace = [{pattern = "/(unclosed/", with = ""}]', "feeds[0].replace[0].pattern",
     "bad regular expression /(unclosed/"),
    ('replace = [{pattern = "/(a)/", with = "\\\\2"}]', "feeds[0].replace[0].with",
     "no such group"),
    ('replace = [{pattern = "/x/", width = ""}]', "feeds[0].replace[0].width", "unknown key"),
    ('replace = [{with = "y"}]', "feeds[0].replace[0].pattern", "is required"),
    ('replace = ["x"]', "feeds[0].replace[0]", "must be a table"),
])
def test_a_bad_rule_is_one_config_error_naming_its_key(
        project: Project, run: Run, rules: str, key: str, words: str) -> None:
    root = project(config=SITE + feed("blog", "feeds/blog.xml", rules),
                   files={"feeds/blog.xml": rss("<p>x</p>")})
    result = run(root, "fetch")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    [line] = error_lines(result)
    assert "digest.toml" in line and f"{key}:" in line and words in line, line
    assert not (root / "content").exists()  # a refused command changes nothing


def test_every_bad_rule_is_listed_in_one_run(project: Project, run: Run) -> None:
    rules = ("remove = ['ok', 'a[=]', '>>']\n"
             'replace = [{pattern = "/(/", with = ""}, {pattern = "fine", with = "ok"}]')
    result = run(project(config=SITE + feed("blog", "feeds/blog.xml", rules)), "check")
    assert result.exit_code == 2
    keys = sorted(re.search(r"(feeds\[0\]\.\S+):", line)[1]  # type: ignore[index]
                  for line in error_lines(result))
    assert keys == ["feeds[0].remove[1]", "feeds[0].remove[2]", "feeds[0].replace[0].pattern"]


# --- reprocess ------------------------------------------------------------------------


def test_reprocess_rewrites_unedited_files_from_what_is_stored_and_never_an_edited_one(
        project: Project, run: Run, httpserver: HTTPServer) -> None:
    bodies = [f"<p>Post {n} text.</p><hr><p>Sponsored by ACME</p><br>"
              f'<a href="https://blog.example/posts/{n}#comments">Discuss</a>' for n in range(4)]
    url = serve(httpserver, "/f.xml", rss(*bodies))
    root = project(config=SITE + feed("f", url))
    assert run(root, "fetch").exit_code == 0
    paths = files(root)
    # A person edits one body and pins another (front matter only).
    edited_body = paths["Post 1"]
    edited_body.write_text(edited_body.read_text(encoding="utf-8").replace(
        "Post 1 text.", "Post 1 text, as the editor put it."), encoding="utf-8")
    pinned = paths["Post 2"]
    pinned.write_text(pinned.read_text(encoding="utf-8").replace(
        "tags: []", "tags: []\npinned: true"), encoding="utf-8")
    before = {title: path.read_bytes() for title, path in paths.items()}

    rules = ("remove = ['hr', 'a[href$=\"#comments\"]', 'br:has(+ a[href$=\"#comments\"])']\n"
             'replace = [{pattern = "/^Sponsored by .*$/", with = "(ad)"}]')
    (root / "digest.toml").write_text(SITE + feed("f", url, rules), encoding="utf-8")
    httpserver.clear()  # the server forgets the feed: reprocessing must not need it
    asked = len(httpserver.log)
    result = run(root, "fetch", "--reprocess")
    assert result.exit_code == 0, result.output
    assert len(httpserver.log) == asked
    assert "2 rewritten, 0 unchanged, 2 skipped (edited by a person)" in result.output
    for path in (edited_body, pinned):
        assert f"skipped (edited by a person): {path.relative_to(root)}" in result.output
    after = {title: path.read_bytes() for title, path in files(root).items()}
    assert after["Post 1"] == before["Post 1"] and after["Post 2"] == before["Post 2"]
    for title in ("Post 0", "Post 3"):
        old_meta, _ = contentfile.decode(before[title], paths[title])
        meta, body = contentfile.decode(after[title], paths[title])
        assert meta == old_meta  # fetched, first_seen, everything else kept
        assert after[title].startswith(before[title].split(b"\n---\n")[0] + b"\n---\n")
        assert body == f"<p>{title} text.</p>\n<p>(ad)</p>"
    # Done is done: a second run changes nothing, and neither does a normal fetch that
    # reads the same bodies again (both ways of applying the rules agree).
    again = run(root, "fetch", "--reprocess")
    assert "0 rewritten, 2 unchanged, 2 skipped" in again.output
    serve(httpserver, "/f.xml", rss(*bodies))
    fetched = run(root, "fetch")
    assert fetched.exit_code == 0, fetched.output
    assert {t: p.read_bytes() for t, p in files(root).items()} == after


def test_reprocess_leaves_rules_that_would_never_settle(
        project: Project, run: Run, httpserver: HTTPServer) -> None:
    url = serve(httpserver, "/f.xml", rss("<p>Read more</p>"))
    root = project(config=SITE + feed("f", url))
    assert run(root, "fetch").exit_code == 0
    [path] = files(root).values()
    before = path.read_bytes()
    rules = 'replace = [{pattern = "more", with = "more and more"}]'
    (root / "digest.toml").write_text(SITE + feed("f", url, rules), encoding="utf-8")
    result = run(root, "fetch", "--reprocess")
    assert result.exit_code == 0
    assert "a replace rule of feeds.f would change its own result again" in result.output
    assert path.read_bytes() == before


def test_reprocess_refuses_flags_that_mean_a_download(project: Project, run: Run) -> None:
    result = run(project(config=SITE), "fetch", "--reprocess", "--force")
    assert result.exit_code == 2
    [line] = error_lines(result)
    assert "--force" in line and "--reprocess" in line


# --- hostile input ---------------------------------------------------------------------


MXSS = [
    '<div id="wrap"><p>in</p></div><noscript><p title="</noscript><img src=x '
    'onerror=alert(1)>"></p></noscript><p>after</p>',
    '<div id="wrap"><math><mtext><table><mglyph><style><img src=x onerror=alert(1)>'
    "</style></mglyph></table></mtext></math></div><p>after</p>",
    '<div id="wrap"><template><p>t</p></template></div><form><math><mtext></form><form>'
    '<mglyph><style></math><img src onerror=alert(1)></style></mglyph></form><p>after</p>',
]


def test_no_rule_lets_through_what_the_sanitizer_drops(
        project: Project, run: Run, httpserver: HTTPServer) -> None:
    bodies = [f"<p>kept</p>{p}" for p in PAYLOADS + MXSS]
    url = serve(httpserver, "/f.xml", rss(*bodies))
    rules = ("remove = ['#wrap', 'div', 'table', 'noscript', 'template']\n"
             'replace = [{pattern = "kept", with = "<script>alert(3)</script>"},\n'
             '           {pattern = "/alert/", with = "<img src=x onerror=alert(4)>"}]')
    root = project(config=SITE + feed("f", url, rules))
    result = run(root, "fetch")
    assert result.exit_code == 0, result.output
    items = stored(root)
    assert len(items) == len(bodies)
    for _, body in items:
        # Replacements apply in turn, and each is text: the second escapes like the first.
        assert "<p>&lt;script&gt;&lt;img src=x onerror=alert(4)&gt;(3)&lt;/script&gt;</p>" \
            in body
        tree = LexborHTMLParser(body)
        assert not tree.css("script, style, iframe, object, embed, base, meta, noscript, "
                            "template, form, input, svg, link"), body
        for node in tree.css("*"):
            for name, value in node.attributes.items():
                assert not name.startswith("on"), body
                assert "javascript" not in (value or "").lower(), body
        # Nothing is left that the sanitizer would still change.
        assert clean_html(body) == body


def test_a_reprocessed_body_is_sanitized_again(
        project: Project, run: Run, httpserver: HTTPServer) -> None:
    """A stored body digest wrote under a looser allow-list (an older version, say) comes
    out of --reprocess as today's sanitizer would have it, whatever the rules remove."""
    url = serve(httpserver, "/f.xml", rss("<p>Post</p><div id=\"ad\">Ad</div>"))
    root = project(config=SITE + feed("f", url))
    assert run(root, "fetch").exit_code == 0
    [path] = files(root).values()
    older = path.read_text(encoding="utf-8").replace(
        "<p>Post</p>", '<p onclick="steal()">Post</p><script>alert(1)</script>'
                       '<div><style>p{}</style><iframe src="https://evil.example/"></iframe></div>')
    path.write_text(older, encoding="utf-8")
    state = root / ".digest" / "state.json"
    data = json.loads(state.read_text(encoding="utf-8"))
    [id_] = data["written"]
    data["written"][id_] = hashlib.sha256(older.encode("utf-8")).hexdigest()  # digest wrote it
    state.write_text(json.dumps(data), encoding="utf-8")
    (root / "digest.toml").write_text(SITE + feed("f", url, "remove = ['#ad']"),
                                      encoding="utf-8")
    result = run(root, "fetch", "--reprocess")
    assert "1 rewritten" in result.output, result.output
    _, body = contentfile.read(path)
    assert body == "<p>Post</p>\n<div></div>"


# --- the example ----------------------------------------------------------------------


def test_the_example_lesswrong_items_have_no_discuss_link(example_site: Path) -> None:
    pages = [p for p in example_site.rglob("*.html")
             if "lesswrong.com/posts/" in p.read_text(encoding="utf-8")]
    assert len(pages) > 10
    for path in [*pages, *example_site.rglob("*.xml")]:
        text = path.read_text(encoding="utf-8")
        assert "Discuss</a>" not in text and "Discuss&lt;/a&gt;" not in text, path
        assert not re.search(r"<br>\s*(</div>\s*)*$", text), path


def test_the_example_rule_cleans_a_fresh_fetch_of_lesswrong(
        tmp_path: Path, run: Run) -> None:
    """The rule in digest.toml itself does the work, not hand edits of the example."""
    for name in ("digest.toml", "feeds"):
        source = ROOT / name
        copy = shutil.copytree if source.is_dir() else shutil.copy2
        copy(source, tmp_path / name)
    result = run(tmp_path, "fetch", "--feed", "lesswrong")
    assert result.exit_code == 0, result.output
    raw = (ROOT / "feeds" / "lesswrong.xml").read_text(encoding="utf-8")
    items = stored(tmp_path)
    assert len(items) == raw.count("<item>") == 20
    for meta, body in items:
        assert meta["source"] == "lesswrong"
        assert "Discuss" not in body[-300:] and "#comments" not in body
        assert not body.endswith("<br>")
