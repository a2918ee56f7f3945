"""Link hygiene: tracking parameters removed, so links are clean and duplicates are seen."""

from __future__ import annotations

import html as html_lib
import re
from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit

TRACKING_PREFIXES = ("utm_", "mtm_", "pk_", "hsa_", "_hs")
TRACKING = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid", "mc_cid",
    "mc_eid", "mkt_tok", "twclid", "ttclid", "li_fat_id", "_ga", "_gl", "oly_anon_id",
    "oly_enc_id", "vero_id", "wickedid", "rb_clickid", "s_cid", "ref_src",
})


def clean_link(url: str) -> str:
    """`url` without tracking parameters (utm_*, fbclid, gclid, …); the parameters it keeps
    stay byte for byte as they were."""
    if "?" not in url:
        return url
    parts = urlsplit(url)
    kept = [segment for segment in parts.query.split("&") if not _tracking(segment)]
    return urlunsplit(parts._replace(query="&".join(kept)))


def _tracking(segment: str) -> bool:
    name = unquote_plus(segment.split("=", 1)[0]).lower()
    return name in TRACKING or name.startswith(TRACKING_PREFIXES)


def canonical(url: str) -> str:
    """A key under which two links to the same story are equal."""
    # The commonest link, sooner: http(s), printable ASCII with no space, query, fragment
    # or brackets, where the key is the host (less "www.") and path (less final slashes).
    if not (url.startswith(("https://", "http://")) and url.isascii() and url.isprintable()
            and not any(c in url for c in _NOT_PLAIN_LINK)):
        return parsed_canonical(url)
    host, slash, path = url.partition("://")[2].partition("/")
    return host.lower().removeprefix("www.") + ((slash + path).rstrip("/") or "/")


_NOT_PLAIN_LINK = (" ", "?", "#", "[", "]")


def parsed_canonical(url: str) -> str:
    """canonical(url), the long way for every link: parsed, and its tracking removed."""
    parts = urlsplit(clean_link(url.strip()))
    host = parts.netloc.lower().removeprefix("www.")
    path = parts.path.rstrip("/") or "/"
    return f"{host}{path}?{parts.query}" if parts.query else f"{host}{path}"


# A link or image address without a scheme (an editor's relative link, a mirrored image
# under the site's path), in sanitized or rendered HTML (attribute values in double quotes).
# (No \b before the name: it makes the search try every position and costs 5 times as much
# on a 100 kB email edition; `_word_before` checks the same thing on the few matches.)
_RELATIVE = re.compile(r'(href|src)="(?![a-zA-Z][a-zA-Z0-9+.-]*:|#)([^"]*)"')
_SRCSET = re.compile(r'srcset="([^"]*)"')


def absolute_links(html: str, page_url: str) -> str:
    """`html` with every relative link and image made absolute against `page_url`: for
    what is read away from the site (a feed reader, a mail)."""
    def one(match: re.Match[str]) -> str:
        if _word_before(match):
            return match.group(0)  # "xhref=…", not an attribute of its own
        url = urljoin(page_url, html_lib.unescape(match.group(2)))
        return f'{match.group(1)}="{html_lib.escape(url)}"'

    def srcset(match: re.Match[str]) -> str:
        if _word_before(match):
            return match.group(0)
        parts = [p.split() for p in html_lib.unescape(match.group(1)).split(",")]
        joined = ", ".join(" ".join([urljoin(page_url, bits[0]), *bits[1:]])
                           for bits in parts if bits)
        return f'srcset="{html_lib.escape(joined)}"'

    return _SRCSET.sub(srcset, _RELATIVE.sub(one, html))


def _word_before(match: re.Match[str]) -> bool:
    """Whether a word character stands right before the match (what \\b rules out)."""
    at, text = match.start(), match.string
    return at > 0 and (text[at - 1].isalnum() or text[at - 1] == "_")


def domain(link: str) -> str:
    """'https://www.lesswrong.com/posts/x' -> 'lesswrong.com': where a link leads, as a
    reader names the site; '' for a link with no host."""
    try:
        host = urlsplit(link).hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.")
