"""`mloop server`: the control plane (lineage API, dashboard, OpenAPI) on 127.0.0.1."""

from __future__ import annotations

import typer

from mloop.cli._output import console, workspace


def server(
    host: str | None = typer.Option(None, "--host", help="Bind address (default: the server.host setting, 127.0.0.1)."),
    port: int | None = typer.Option(None, "--port", min=1, max=65535,
                                    help="Port (default: the server.port setting, 8000)."),
) -> None:
    """Serve the control plane: /lineage, /docs (OpenAPI), /healthz and the dashboard."""
    import logging

    import uvicorn

    from mloop.serving.server.serve import check_port
    from mloop.serving.server.timeouts import uvicorn_options
    from mloop.web import create_app

    ws = workspace()
    settings = ws.settings
    bind_host = host or settings.server.host
    bind_port = settings.server.port if port is None else port
    logging.basicConfig(level=settings.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    check_port(bind_host, bind_port)
    from mloop.auth import ensure_tokens_migrated, list_tokens

    ensure_tokens_migrated(ws)  # plaintext [auth.tokens] move into the database before serving
    app = create_app(ws, bind_host=bind_host)
    out = console(stderr=True)
    out.print(f"control plane for [bold]{ws.root}[/] on http://{bind_host}:{bind_port}  "
              f"(OpenAPI: /docs, lineage: /lineage?pipeline=NAME)")
    if not list_tokens(ws):
        out.print("[dim]no tokens issued yet: only anonymous reads are possible "
                  "(issue one: `mloop auth tokens create --principal NAME --role ROLE`)[/]")
    if bind_host not in ("127.0.0.1", "localhost", "::1") and settings.auth.anonymous_read is True:
        out.print(f"[yellow]warning:[/] listening on {bind_host} with anonymous reads: anyone who can reach "
                  "this port can read lineage (set \\[auth] anonymous_read = \"loopback\" or false)")
    if not settings.server.allowed_hosts and bind_host.strip() in ("0.0.0.0", "::"):
        out.print("[dim]answering to Host: localhost, this machine's names and addresses; set \\[server] "
                  "allowed_hosts to the names clients use (a proxy's name; see docs/security.md)[/]")
    try:
        uvicorn.run(app, host=bind_host, port=bind_port, log_level=settings.log_level.lower(),
                    access_log=True, server_header=False, **uvicorn_options(settings.server.read_timeout_s))
    finally:
        ws.close()


def register(app: typer.Typer) -> None:
    app.command("server")(server)
