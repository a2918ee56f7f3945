"""Link hygiene: tracking parameters removed, so links are clean and duplicates are seen."""

from __future__ import annotations

from urllib.parse import unquote_plus, urlsplit, urlunsplit

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
    parts = urlsplit(clean_link(url.strip()))
    host = parts.netloc.lower().removeprefix("www.")
    path = parts.path.rstrip("/") or "/"
    return f"{host}{path}?{parts.query}" if parts.query else f"{host}{path}"
