"""`digest serve`: a local preview of output/, under the site's base path, that rebuilds on
every edit and reloads open pages (Server-Sent Events). Loopback by default; it refuses paths
outside output/ (symlinks included) and requests for a host it does not serve.

An application (the editor's desk, digest/review.py) may be mounted at `<base path>_review/`:
the server hands it parsed requests there, and only from loopback clients of a loopback
server; it never writes a file itself."""

from __future__ import annotations

import html
import http.server
import ipaddress
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

APP = "_review/"  # where an application is mounted, under the base path
MAX_FORM = 1 << 20  # bytes of a POSTed form
LOOPBACK = ("127.0.0.1", "localhost", "::1")
EVENTS = "/__digest__/events"
RELOAD_JS = "/__digest__/reload.js"
# Reconnects after a restart; reloads when the build number it first saw changes.
_SCRIPT = b"""(() => {
  let seen = null;
  const source = new EventSource("/__digest__/events");
  source.onmessage = (event) => {
    if (seen !== null && event.data !== seen) { location.reload(); }
    seen = event.data;
  };
})();
"""


@dataclass
class Status:
    """What the server shows: the build number, and the last build's error, if any."""

    build: int = 0
    error: str | None = None
    changed: threading.Condition = field(default_factory=threading.Condition)

    def built(self, error: str | None) -> None:
        with self.changed:
            self.build += 1
            self.error = error
            self.changed.notify_all()


@dataclass(frozen=True)
class AppRequest:
    """A request for the application, parsed: `path` is relative to its mount point."""

    method: str  # GET or POST
    path: str  # "" for the mount point itself, "act", "desk.js"...
    query: dict[str, list[str]]
    form: dict[str, list[str]]  # a POSTed urlencoded form
    headers: dict[str, str]  # names in lower case
    base: str  # the site's base path, e.g. "/digest/"


@dataclass(frozen=True)
class AppResponse:
    """The application's answer; serve adds Content-Length and `Cache-Control: no-store`."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


App = Callable[[AppRequest], AppResponse]


class _Handler(http.server.SimpleHTTPRequestHandler):
    prefix = "/"
    root = Path(".")
    status = Status()
    hosts: frozenset[str] = frozenset()
    app: App | None = None

    def do_GET(self) -> None:
        if not self._host_ok():
            self.send_error(403, "Unknown host")  # DNS rebinding: a page elsewhere posing as us
            return
        path = urlsplit(self.path).path
        if self.app is not None and path == self.prefix + APP.rstrip("/"):
            self.send_response(301)
            self.send_header("Location", self.prefix + APP)
            self.end_headers()
        elif self.app is not None and path.startswith(self.prefix + APP):
            self._app(path[len(self.prefix + APP):], b"")
        elif path == EVENTS:
            self._events()
        elif path == RELOAD_JS:
            self._send(200, "text/javascript; charset=utf-8", _SCRIPT)
        elif self.prefix != "/" and path in ("/", ""):
            self.send_response(302)
            self.send_header("Location", self.prefix)
            self.end_headers()
        elif self.status.error is not None and (path.endswith("/") or path.endswith(".html")):
            self._send(500, "text/html; charset=utf-8", self._error_page())
        else:
            self._file(path)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_POST(self) -> None:
        """Only the application takes POSTs: a bounded urlencoded form, from this origin."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_FORM:
            self.close_connection = True  # the body is not read: the connection cannot go on
            self._send(413, "text/plain; charset=utf-8", b"Request too large")
            return
        body = self.rfile.read(length)
        path = urlsplit(self.path).path
        if not self._host_ok():
            self._send(403, "text/plain; charset=utf-8", b"Unknown host")
        elif self.app is None or not path.startswith(self.prefix + APP):
            self._send(405, "text/plain; charset=utf-8", b"Method not allowed")
        elif not self._same_origin():
            self._send(403, "text/plain; charset=utf-8", b"Cross-site request refused")
        elif (self.headers.get("Content-Type") or "").split(";")[0].strip().lower() != \
                "application/x-www-form-urlencoded":
            self._send(415, "text/plain; charset=utf-8", b"Send an urlencoded form")
        else:
            self._app(path[len(self.prefix + APP):], body)

    def _host_ok(self) -> bool:
        return not self.hosts or (self.headers.get("Host") or "").lower() in self.hosts

    def _same_origin(self) -> bool:
        """A browser says where a request comes from: refuse other sites outright (the
        application's token is the real guard; this is a second one)."""
        origin = self.headers.get("Origin")
        if origin is not None and origin.lower() not in {f"http://{h}" for h in self.hosts}:
            return False
        return (self.headers.get("Sec-Fetch-Site") or "same-origin").lower() in (
            "same-origin", "none")

    def _own_or_navigation(self) -> bool:
        """Another site may link to the application, never load it as an image, a script or
        a fetch (each would make it read every content file for nothing)."""
        site = (self.headers.get("Sec-Fetch-Site") or "none").lower()
        mode = (self.headers.get("Sec-Fetch-Mode") or "navigate").lower()
        return site in ("same-origin", "none") or mode == "navigate"

    def _app(self, rel: str, body: bytes) -> None:
        assert self.app is not None
        try:
            client = ipaddress.ip_address(self.client_address[0].removeprefix("::ffff:"))
        except ValueError:
            client = None
        if client is None or not client.is_loopback:
            self._send(403, "text/plain; charset=utf-8", b"Only from this computer")
            return
        if self.command != "POST" and not self._own_or_navigation():
            self._send(403, "text/plain; charset=utf-8", b"Cross-site request refused")
            return
        try:
            form = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=1000)
            query = parse_qs(urlsplit(self.path).query, keep_blank_values=True,
                             max_num_fields=100)
        except (UnicodeDecodeError, ValueError):
            self._send(400, "text/plain; charset=utf-8", b"Malformed form")
            return
        request = AppRequest(self.command if self.command != "HEAD" else "GET", unquote(rel),
                             query, form, {k.lower(): v for k, v in self.headers.items()},
                             self.prefix)
        try:
            response = self.app(request)
        except Exception as exc:  # deliberate: a bug in the app answers 500, never hangs up
            response = AppResponse(500, f"The desk failed: {exc!r}".encode(),
                                   (("Content-Type", "text/plain; charset=utf-8"),
                                    ("X-Content-Type-Options", "nosniff")))
        self.send_response(response.status)
        names = {name.lower() for name, _ in response.headers}
        for name, value in response.headers:
            self.send_header(name, value)
        if "cache-control" not in names:
            self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _file(self, path: str) -> None:
        target = self._local(path)
        if target is None:
            self._not_found()
            return
        if target.is_dir():
            if not path.endswith("/"):
                self.send_response(301)
                self.send_header("Location", path + "/")
                self.end_headers()
                return
            target = target / "index.html"
        if not target.is_file():
            self._not_found()
            return
        data = target.read_bytes()
        kind = self.guess_type(str(target))
        if target.suffix == ".html":
            data = _inject(data)
            kind = "text/html; charset=utf-8"
        elif kind.startswith("text/") or kind in ("application/javascript", "application/json"):
            kind += "; charset=utf-8"
        self._send(200, kind, data)

    def _local(self, path: str) -> Path | None:
        """The file for a URL path, or None when it is not inside output/ (however the path
        is spelt: `..`, encoded or not, or a symlink that leads out)."""
        if not path.startswith(self.prefix):
            return None
        rel = unquote(path[len(self.prefix):])
        if "\0" in rel or "\\" in rel:
            return None
        target = (self.root / rel).resolve()
        root = self.root.resolve()
        return target if target == root or target.is_relative_to(root) else None

    def _not_found(self) -> None:
        page = self.root / "404.html"
        body = _inject(page.read_bytes()) if page.is_file() else b"Not found"
        self._send(404, "text/html; charset=utf-8", body)

    def _events(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        build = -1
        try:
            while True:
                with self.status.changed:
                    if self.status.build == build:
                        self.status.changed.wait(timeout=15)
                    current = self.status.build
                if current != build:
                    build = current
                    self.wfile.write(f"data: {build}\n\n".encode())
                else:
                    self.wfile.write(b": keep-alive\n\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return

    def _error_page(self) -> bytes:
        message = html.escape(self.status.error or "")
        return _inject(f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Build failed</title></head><body><h1>The build failed</h1><pre>{message}</pre>
<p>Fix the file and save: this page reloads by itself.</p></body></html>""".encode())

    def _send(self, code: int, kind: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _inject(page: bytes) -> bytes:
    """The page with the reload script (only in `serve`; never written to output/)."""
    tag = f'<script src="{RELOAD_JS}" defer></script>'.encode()
    head = page.rfind(b"</head>")
    return page[:head] + tag + page[head:] if head != -1 else page + tag


def make_server(directory: Path, host: str, port: int, prefix: str = "/",
                status: Status | None = None, app: App | None = None, listen: bool = True
                ) -> http.server.ThreadingHTTPServer:
    """A server for `directory` under `prefix`; port 0 picks a free one. `app` is mounted at
    `prefix + APP` only on a loopback server (it may write files: never for the network).
    `listen=False`: the port is taken (a busy one raises OSError now) but connections are
    refused until the caller calls `server_activate()`."""
    server = http.server.ThreadingHTTPServer((host, port), http.server.BaseHTTPRequestHandler,
                                             bind_and_activate=False)
    try:
        server.server_bind()
        if listen:
            server.server_activate()
    except BaseException:  # whatever stops the bind (a busy port, Ctrl-C): close, then re-raise
        server.server_close()
        raise
    server.daemon_threads = True
    actual = server.server_address[1]
    loopback = host in LOOPBACK
    names = {host, "localhost", "127.0.0.1", "[::1]"} if loopback else set()
    hosts = frozenset(f"{n}:{actual}" for n in names)
    server.RequestHandlerClass = type("Handler", (_Handler,), {
        "prefix": prefix, "root": directory, "status": status or Status(), "hosts": hosts,
        "app": staticmethod(app) if app is not None and loopback else None,
    })
    return server


