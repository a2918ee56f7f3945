"""`digest serve`: the live preview, and the editor's desk beside it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from digest.errors import ConfigError

if TYPE_CHECKING:
    from http.server import ThreadingHTTPServer

    from digest.commands.context import Context
    from digest.model import Urls
    from digest.preview.loop import Preview


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("-p", "--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="0 picks a free port.")
@click.option("--drafts/--no-drafts", default=True, show_default=True,
              help="Show issues marked 'status: draft' (the published site never does).")
@click.option("--poll", is_flag=True, help="Poll for changes (network or VM file systems).")
@click.option("--desk/--no-desk", default=True, show_default=True,
              help="The editor's desk at <site path>_review/ (loopback only).")
@click.pass_obj
def serve(ctx: Context, host: str, port: int, drafts: bool, poll: bool, desk: bool) -> None:
    """Build, serve output/, and rebuild and reload the browser on every edit.

    The editor's desk, at <site path>_review/, reviews a week's candidates in the browser and
    writes each decision into the item's front matter (the preview then rebuilds)."""
    from digest.desk.review import Desk
    from digest.preview.loop import Preview
    from digest.preview.serve import APP, LOOPBACK, make_server

    config = ctx.load_config()
    loopback = host in LOOPBACK
    preview = Preview(ctx.config_path, drafts, ctx.say, ctx.error)
    app = Desk(config.path).handle if desk and loopback else None
    # The port first: a busy one refuses the command before it builds anything. Connections
    # are accepted once the site is built and watched: an open port means a ready preview.
    try:
        server = make_server(config.output_dir, host, port, config.site.urls.base_path,
                             preview.status, app, listen=False)
    except OSError as exc:
        raise _cannot_listen(host, port, exc) from exc
    if not loopback:
        ctx.warn(f"serving on {host}: anyone on your network can read the preview "
                 "(the editor's desk is off)")
    try:
        preview.rebuild(set(), strict=True)  # a refused output folder stops here, exit 2
        greeting = ["Serving {} (Ctrl-C to stop)"]
        if app is not None:
            greeting.append("Editor's desk: {}" + APP)
        greeting.append("Draft issues are shown (--no-drafts hides them)" if drafts
                        else "Draft issues are hidden, as on the published site")
        _serve_until_stopped(ctx, server, preview, poll, greeting, host, port,
                             config.site.urls)
    finally:  # stopped at any point: a build under way finishes, an index is abandoned
        preview.stop()


def _serve_until_stopped(ctx: Context, server: ThreadingHTTPServer, preview: Preview,
                         poll: bool, greeting: list[str], host: str, port: int, urls: Urls
                         ) -> None:
    """Watch, open the port, say `greeting` (each line's {} the address) and serve in a
    thread, until Ctrl-C (or SIGTERM, see cli.run). From the first call here on, that is a
    clean stop (exit 0), even in the instant the port opens: the builds are stopped first
    (an index under way is abandoned before it can finish), then the watching, then the
    port."""
    import threading

    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                              daemon=True)
    observer = None
    try:
        observer = preview.watch(poll)  # watching before the port opens: no edit is missed
        try:
            server.server_activate()
        except OSError as exc:
            raise _cannot_listen(host, port, exc) from exc
        address = urls.served(host, server.server_address[1])
        for line in greeting:
            ctx.say(line.format(address))
        thread.start()
        while thread.is_alive():
            thread.join(0.5)
    except KeyboardInterrupt:
        ctx.say("Stopped.")
    finally:
        preview.stop()
        if observer is not None:
            observer.stop()
        if thread.ident is not None:  # started: its loop ends (shutdown waits for it)
            server.shutdown()
        server.server_close()


def _cannot_listen(host: str, port: int, exc: OSError) -> ConfigError:
    """Why `serve` cannot open host:port, naming the option to change."""
    import errno
    import socket

    message = f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
        return ConfigError(message, key="--host",
                           hint="use an address of this machine, e.g. 127.0.0.1")
    if exc.errno == errno.EACCES:
        return ConfigError(message, key="--port",
                           hint="ports below 1024 need privileges; pick another --port")
    return ConfigError(message, key="--port",
                       hint="another program uses it; pick another --port")
