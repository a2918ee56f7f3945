"""Stage 7 (beside render): the files machines read: sitemap.xml, robots.txt, .nojekyll,
CNAME."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import datetime
from urllib.parse import urljoin

from digest.model import Output

SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"


def machine_files(base_url: str, pages: Iterable[tuple[str, datetime | None]],
                  cname: str | None) -> list[Output]:
    """`pages` are (site-relative URL, last change) of every HTML page worth indexing."""
    ET.register_namespace("", SITEMAP)
    root = ET.Element(f"{{{SITEMAP}}}urlset")
    for url, changed in sorted(pages):
        entry = ET.SubElement(root, f"{{{SITEMAP}}}url")
        ET.SubElement(entry, f"{{{SITEMAP}}}loc").text = urljoin(base_url, url)
        if changed is not None:
            ET.SubElement(entry, f"{{{SITEMAP}}}lastmod").text = changed.date().isoformat()
    ET.indent(root)
    sitemap: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
    robots = f"User-agent: *\nAllow: /\n\nSitemap: {urljoin(base_url, 'sitemap.xml')}\n"
    outputs = [Output("sitemap.xml", sitemap), Output("robots.txt", robots.encode()),
               Output(".nojekyll", b"")]
    if cname:
        outputs.append(Output("CNAME", cname.encode() + b"\n"))
    return outputs
