"""Untrusted HTML -> safe HTML, with relative URLs made absolute. Pure functions over nh3."""

from __future__ import annotations

import html as html_lib
import re
from urllib.parse import quote, urldefrag, urljoin, urlsplit

import nh3
from pygments.token import STANDARD_TYPES

from digest.links import clean_link

# MathML, so that formulas stay formulas (the old site lost every one of them).
MATHML = frozenset({
    "math", "semantics", "annotation", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace",
    "msup", "msub", "msubsup", "mfrac", "msqrt", "mroot", "mover", "munder", "munderover",
    "mtable", "mtr", "mtd", "mstyle", "mpadded", "mphantom", "menclose", "mfenced",
    "mmultiscripts", "mprescripts", "none",
})
# MathJax 2 keeps a formula's TeX in a script element, which is dropped: show it as code.
_TEX_SCRIPT = re.compile(r'<script[^>]*type=["\']?math/tex[^>]*>(.*?)</script>',
                         re.IGNORECASE | re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# An allow-list: what a reader needs to read a post, nothing that runs or restyles the page.
TAGS = frozenset(nh3.ALLOWED_TAGS - {"map", "area", "center", "strike", "acronym", "tt"}) | {
    "section",
    "source",
    "picture",
    "tfoot",
} | MATHML
# Dropped with everything inside: the leaked MathJax stylesheets of the old site live here.
DROP_WITH_CONTENT = frozenset({"script", "style", "noscript", "template", "iframe", "object",
                               "embed", "svg", "title", "head", "textarea", "select", "button"})
ATTRIBUTES: dict[str, set[str]] = {
    "*": {"lang", "dir", "title", "id"},
    "a": {"href", "hreflang"},
    "img": {"src", "alt", "width", "height", "srcset", "sizes"},
    "source": {"srcset", "sizes", "type", "media"},
    "td": {"colspan", "rowspan", "headers"},
    "th": {"colspan", "rowspan", "headers", "scope"},
    "ol": {"start", "reversed", "type"},
    "li": {"value"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "del": {"cite", "datetime"},
    "ins": {"cite", "datetime"},
    "time": {"datetime"},
    "abbr": {"title"},
    "col": {"span"},
    "colgroup": {"span"},
    # Pygments colours code with classes; nothing else keeps a class.
    "div": {"class"},
    "pre": {"class"},
    "code": {"class"},
    "span": {"class"},
    "sup": {"class"},
    "math": {"display"},
    "annotation": {"encoding"},
    "mi": {"mathvariant"},
    "mo": {"stretchy", "fence", "separator", "lspace", "rspace"},
    "mfrac": {"linethickness"},
    "mtd": {"columnspan", "rowspan"},
    "mstyle": {"displaystyle", "scriptlevel"},
}
THEME_IDS = frozenset({"main", "content", "top", "header", "footer", "nav", "search", "skip"})
_IMG_WITHOUT_ALT = re.compile(r"<img (?![^>]*\balt=)")
# ASCII characters a URL never holds as they are (WHATWG URL: browsers percent-encode
# them); a feed's `href=http://x/""` keeps its quotes in the value.
_NOT_IN_URL = re.compile(r'[\s"<>\\^`{|}]')
_LANGUAGE_CLASS = re.compile(r"^language-[a-z0-9_+#-]{1,30}$")  # <code class="language-py">
_HTML_TAG = re.compile(
    r"</?(?:a|abbr|b|body|br|code|del|div|em|embed|font|form|h[1-6]|head|html|i|iframe|img|"
    r"input|link|meta|object|ol|p|pre|s|script|small|span|strong|style|sub|sup|svg|table|td|"
    r"th|tr|u|ul|video|audio|source|button|base)\b[^>]*>", re.IGNORECASE)
KEPT_CLASSES = frozenset(
    {"codehilite", "highlight", "footnote", "footnotes", "footnote-ref", "footnote-backref",
     "tex"} | {c for c in STANDARD_TYPES.values() if c}
)
URL_SCHEMES = frozenset({"http", "https", "mailto"})
URL_ATTRIBUTES = frozenset({"href", "src", "cite"})
SRCSET_ATTRIBUTES = frozenset({"srcset"})


def clean_html(html: str, base_url: str = "", same_page: tuple[str, ...] = (),
               keep_relative: bool = False) -> str:
    """Sanitize a fragment of untrusted HTML; resolve relative URLs against `base_url`.

    A link to a fragment of a `same_page` URL (the feed's own address,
    against which a parser may have resolved `#fn1`) stays an in-page `#fragment`.
    """
    pages = {urldefrag(u).url for u in same_page if u}

    def attribute_filter(tag: str, attribute: str, value: str) -> str | None:
        if attribute in URL_ATTRIBUTES:
            if keep_relative and not urlsplit(value.strip()).scheme:
                return value.strip()  # an editor's link within the site
            url = absolute_url(value, base_url)
            url = clean_link(url) if url else url
            if url and "#" in url and urldefrag(url).url in pages:
                return "#" + urldefrag(url).fragment
            return url
        if attribute in SRCSET_ATTRIBUTES:
            return _srcset(value, base_url)
        if attribute == "id":
            # Keep fragment targets (footnotes, headings) but never the theme's own ids.
            return None if value.lower() in THEME_IDS else value
        if attribute == "class":
            return _classes(value, tag)
        if attribute in ("width", "height"):
            return value if value.strip().isdigit() else None  # "80%" is not valid HTML
        return value

    html = _TEX_SCRIPT.sub(lambda m: f'<code class="tex">{html_lib.escape(m.group(1))}</code>',
                           html)
    cleaned = nh3.clean(
        _CONTROL.sub("", html),
        tags=set(TAGS),
        clean_content_tags=set(DROP_WITH_CONTENT),
        attributes=ATTRIBUTES,
        attribute_filter=attribute_filter,
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        # Lazy images; wide tables and code scroll in their own box, so they must be focusable.
        set_tag_attribute_values={"img": {"loading": "lazy"}, "table": {"tabindex": "0"},
                                  "pre": {"tabindex": "0"}},
        strip_comments=True,
    )
    # An image the feed did not describe is decorative: an empty alt says so to screen readers.
    return _IMG_WITHOUT_ALT.sub("<img alt=\"\" ", cleaned)


def clean_text(text: str) -> str:
    """Plain text from untrusted markup (titles, author names): tags stripped, entities
    decoded, control characters removed, whitespace collapsed."""
    stripped = nh3.clean(text, tags=set(), clean_content_tags=set(DROP_WITH_CONTENT))
    return " ".join(_CONTROL.sub("", html_lib.unescape(stripped)).split())


def plain_text(text: str) -> str:
    """A field a feed declares as plain text: kept literally (templates escape it), unless it
    carries real HTML tags, which are stripped."""
    if _HTML_TAG.search(text):
        return clean_text(text)
    return " ".join(_CONTROL.sub("", text).split())


def absolute_url(value: str, base_url: str) -> str | None:
    """`value` resolved against `base_url`; None when the result is not a safe scheme."""
    value = value.strip()
    if value.startswith("#"):
        return value
    joined = urljoin(base_url, value) if base_url else value
    scheme = urlsplit(joined).scheme.lower()
    if scheme == "file" and "#" in joined:
        return "#" + urldefrag(joined).fragment
    if scheme not in URL_SCHEMES:
        return None  # unsafe, or relative with no base: it would point into our own site
    return _NOT_IN_URL.sub(lambda m: quote(m.group()), joined)


def _srcset(value: str, base_url: str) -> str | None:
    candidates = []
    for part in value.split(","):
        bits = part.split()
        if not bits:
            continue
        url = absolute_url(bits[0], base_url)
        if url is None or not urlsplit(url).scheme:
            return None
        candidates.append(" ".join([url, *bits[1:]]))
    return ", ".join(candidates) or None


def _classes(value: str, tag: str) -> str | None:
    """Only Pygments' and footnotes' classes survive, so a feed cannot restyle the page;
    and a code element's language-x, for the highlighter."""
    kept = [c for c in value.split()
            if c in KEPT_CLASSES or (tag == "code" and _LANGUAGE_CLASS.match(c))]
    return " ".join(kept) or None
