"""Untrusted HTML -> safe HTML, with relative URLs made absolute. Pure functions over nh3."""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, urldefrag, urljoin, urlsplit

import nh3
from pygments.token import STANDARD_TYPES

from digest.html.links import clean_link
from digest.html.mathml import convert_html
from digest.html.tex import ERROR_CLASS

# MathML, so that formulas stay formulas (the old site lost every one of them).
MATHML = frozenset({
    "math", "semantics", "annotation", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace",
    "msup", "msub", "msubsup", "mfrac", "msqrt", "mroot", "mover", "munder", "munderover",
    "mtable", "mtr", "mtd", "mstyle", "mpadded", "mphantom", "menclose", "mfenced",
    "mmultiscripts", "mprescripts", "none",
})
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
    # MathML (digest/mathml.py): layout only, no href, no style, nothing that runs.
    "math": {"display"},
    "annotation": {"encoding"},
    "mi": {"mathvariant"},
    "mn": {"mathvariant"},
    "mtext": {"mathvariant"},
    "mo": {"stretchy", "fence", "separator", "lspace", "rspace", "form", "largeop",
           "movablelimits", "symmetric", "minsize", "maxsize", "accent"},
    "mover": {"accent"},
    "munder": {"accentunder"},
    "munderover": {"accent", "accentunder"},
    "mfrac": {"linethickness"},
    "mspace": {"width", "height", "depth"},
    "mpadded": {"width", "height", "depth", "lspace", "voffset"},
    "mtable": {"columnalign", "rowalign", "columnspacing", "rowspacing"},
    "mtd": {"columnspan", "rowspan", "columnalign"},
    "mstyle": {"displaystyle", "scriptlevel", "mathvariant"},
    "menclose": {"notation"},
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
     "tex", ERROR_CLASS} | {c for c in STANDARD_TYPES.values() if c}
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
        if tag in MATHML:
            return value  # lengths such as "0.5em"; no MathML attribute we allow is a URL
        if attribute in ("width", "height"):
            return value if value.strip().isdigit() else None  # "80%" is not valid HTML
        return value

    # Formulas become MathML first: the renderers' markup and scripts would be dropped.
    html = convert_html(html)
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


# --- images in sanitized HTML ---------------------------------------------------------------
# Every image: loaded when it nears the screen, decoded off the main thread, and asked for
# without telling its server which page (so which reader's interest) it is on. Added when a
# body is rendered for the site, not when it is stored, so that stored files stay as they were
# (and a fetch does not see every stored item as changed).
IMG_ATTRIBUTES = (("loading", "lazy"), ("decoding", "async"), ("referrerpolicy", "no-referrer"))
_IMG_EXTRA = "".join(f' {name}="{value}"' for name, value in IMG_ATTRIBUTES)
# nh3's output is regular: attribute values in double quotes, with " < > & escaped.
_IMAGE_TAG = re.compile(r'<(img|source)((?:\s+[a-z-]+(?:="[^"]*")?)*)\s*/?>')
_SET = frozenset(name for name, _ in IMG_ATTRIBUTES)
_ATTRIBUTE = re.compile(r'\s+([a-z-]+)(?:="([^"]*)")?')


@dataclass(frozen=True)
class LocalImage:
    """A mirrored copy of a remote image: where the site serves it, and its size in pixels."""

    url: str
    width: int
    height: int


def image_urls(html: str) -> list[str]:
    """The remote (http/https) URLs of the images of sanitized HTML: each img's src and
    every srcset candidate of an img or a picture's source, in order, once each."""
    found: dict[str, None] = {}
    for match in _IMAGE_TAG.finditer(html):
        for name, value in _attributes(match.group(2)):
            for url in _image_urls_of(match.group(1), name, value):
                if urlsplit(url).scheme in ("http", "https"):
                    found[url] = None
    return list(found)


def images(html: str, local: Callable[[str], LocalImage | None]) -> str:
    """Sanitized HTML with each image as a reader should load it: lazily, decoded off the
    main thread, without a Referer (IMG_ATTRIBUTES); from the mirrored copy when `local`
    knows one (with the copy's width and height when the image had neither), else from the
    remote URL over https (an http:// image is blocked or upgraded on an https page
    anyway)."""
    if "<img" not in html and "<source" not in html:
        return html

    def where(url: str) -> str:
        copy = local(url)
        if copy is not None:
            return copy.url
        return "https://" + url[7:] if url[:7].lower() == "http://" else url

    def rewritten(value: str, change: Callable[[str], str]) -> str:
        before = html_lib.unescape(value)
        after = change(before)
        return value if after == before else html_lib.escape(after)

    def tag(match: re.Match[str]) -> str:
        name, attributes = match.group(1), _attributes(match.group(2))
        out, size = [], None
        for attribute, value in attributes:
            if value is not None and name == "img" and attribute == "src":
                size = local(html_lib.unescape(value))
                value = rewritten(value, where)
            elif value is not None and attribute == "srcset":
                value = rewritten(value, lambda v: _map_srcset(v, where))
            elif name == "img" and attribute in _SET:
                continue  # set below, in one order
            out.append(f' {attribute}="{value}"' if value is not None else f" {attribute}")
        if size is not None and not {a for a, _ in attributes} & {"width", "height"}:
            out.append(f' width="{size.width}" height="{size.height}"')
        return f"<{name}{''.join(out)}{_IMG_EXTRA if name == 'img' else ''}>"

    return _IMAGE_TAG.sub(tag, html)


def _attributes(text: str) -> list[tuple[str, str | None]]:
    return [(m.group(1), m.group(2)) for m in _ATTRIBUTE.finditer(text)]


def _image_urls_of(tag: str, name: str, value: str | None) -> list[str]:
    if value is None:
        return []
    if tag == "img" and name == "src":
        return [html_lib.unescape(value)]
    if name == "srcset":
        return [part.split()[0] for part in html_lib.unescape(value).split(",") if part.split()]
    return []


def _map_srcset(value: str, where: Callable[[str], str]) -> str:
    parts = [part.split() for part in value.split(",")]
    return ", ".join(" ".join([where(bits[0]), *bits[1:]]) for bits in parts if bits)
