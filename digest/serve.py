"""A local static server for output/, under the site's base path, loopback by default."""

from __future__ import annotations

import functools
import http.server
from pathlib import Path
from typing import Any


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves `directory` under `prefix` (e.g. /my-digest/), as GitHub Pages would."""

    prefix = "/"

    def translate_path(self, path: str) -> str:
        clean = path.split("?", 1)[0].split("#", 1)[0]
        if not clean.startswith(self.prefix):
            return str(Path(self.directory) / "\0missing")
        return super().translate_path("/" + clean[len(self.prefix):])

    def send_error(self, code: int, message: str | None = None, explain: str | None = None
                   ) -> None:
        page = Path(self.directory) / "404.html"
        if code == 404 and page.is_file():
            body = page.read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return
        super().send_error(code, message, explain)

    def do_GET(self) -> None:
        if self.path in ("/", "") and self.prefix != "/":
            self.send_response(302)
            self.send_header("Location", self.prefix)
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def make_server(directory: Path, host: str, port: int, prefix: str = "/"
                ) -> http.server.ThreadingHTTPServer:
    handler = type("Handler", (_Handler,), {"prefix": prefix})
    factory = functools.partial(handler, directory=str(directory))
    return http.server.ThreadingHTTPServer((host, port), factory)


def serve(directory: Path, host: str, port: int, prefix: str = "/") -> None:
    """Serve until interrupted."""
    with make_server(directory, host, port, prefix) as server:
        server.serve_forever()
