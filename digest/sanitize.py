"""Untrusted HTML -> safe HTML, with relative URLs made absolute. Pure functions over nh3."""

from __future__ import annotations

from urllib.parse import urldefrag, urljoin, urlsplit

import nh3

# An allow-list: what a reader needs to read a post, nothing that runs or restyles the page.
TAGS = frozenset(nh3.ALLOWED_TAGS - {"map", "area", "center", "strike", "acronym", "tt"}) | {
    "section",
    "source",
    "picture",
    "tfoot",
    "math",
}
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
}
THEME_IDS = frozenset({"main", "content", "top", "header", "footer", "nav", "search", "skip"})
URL_SCHEMES = frozenset({"http", "https", "mailto"})
URL_ATTRIBUTES = frozenset({"href", "src", "cite"})
SRCSET_ATTRIBUTES = frozenset({"srcset"})


def clean_html(html: str, base_url: str = "", same_page: tuple[str, ...] = ()) -> str:
    """Sanitize a fragment of untrusted HTML; resolve relative URLs against `base_url`.

    A link to a fragment of a `same_page` URL (the feed's own address,
    against which a parser may have resolved `#fn1`) stays an in-page `#fragment`.
    """
    pages = {urldefrag(u).url for u in same_page if u}

    def attribute_filter(tag: str, attribute: str, value: str) -> str | None:
        if attribute in URL_ATTRIBUTES:
            url = absolute_url(value, base_url)
            if url and "#" in url and urldefrag(url).url in pages:
                return "#" + urldefrag(url).fragment
            return url
        if attribute in SRCSET_ATTRIBUTES:
            return _srcset(value, base_url)
        if attribute == "id":
            # Keep fragment targets (footnotes, headings) but never the theme's own ids.
            return None if value.lower() in THEME_IDS else value
        if attribute == "class":
            return _classes(value)
        return value

    return nh3.clean(
        html,
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


def clean_text(text: str) -> str:
    """Plain text from untrusted markup (titles, author names): no tags at all."""
    return " ".join(nh3.clean(text, tags=set(), clean_content_tags=set(DROP_WITH_CONTENT))
                    .replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
                    .replace("&quot;", '"').replace("&#39;", "'").split())


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
    return joined


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


def _classes(value: str) -> str | None:
    """Only Pygments' and footnotes' classes survive, so a feed cannot restyle the page."""
    kept = [c for c in value.split() if c in {"codehilite", "highlight", "footnote", "footnotes",
                                              "footnote-ref", "footnote-backref"}
            or (c.isalnum() and len(c) <= 3 and c.islower())]
    return " ".join(kept) or None
