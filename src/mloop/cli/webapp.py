"""`mloop app`: the inference web app in front of a model endpoint (seed 002)."""

from __future__ import annotations

import typer

from mloop.cli._output import console, workspace


def app_command(
    endpoint: str | None = typer.Option(
        None, "--endpoint", "-e", help="Endpoint URL (http://...) or name (default: the app.endpoint setting)."
    ),
    port: int = typer.Option(8080, "--port", "-p", min=1, max=65535, help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind (loopback by default)."),
    model: str | None = typer.Option(None, "--model", help="Model name for the KServe route (optional)."),
    no_log: bool = typer.Option(False, "--no-log", help="Do not log interactions (benchmarks only)."),
) -> None:
    """Serve the ad-click page and JSON API; every prediction is logged to the interactions group."""
    import uvicorn

    from mloop.serving.server.serve import check_port
    from mloop.serving.server.timeouts import uvicorn_options
    from mloop.web.inference import create_inference_app

    check_port(host, port)
    ws = workspace()
    settings = ws.settings.app.model_copy(update={
        "log_interactions": ws.settings.app.log_interactions and not no_log,
        **({"model_name": model} if model else {}),
    })
    app = create_inference_app(ws, endpoint=endpoint, settings=settings, bind_host=host)
    out = console(stderr=True)
    out.print(f"inference app on [bold]http://{host}:{port}/[/] → endpoint {app.state.endpoint_url}"
              f" (logging to {settings.interactions_group if settings.log_interactions else 'nothing'})")
    uvicorn.run(app, host=host, port=port, log_level=ws.settings.log_level.lower(),
                access_log=False, timeout_graceful_shutdown=5, **uvicorn_options(ws.settings.server.read_timeout_s))


def register(app: typer.Typer) -> None:
    app.command("app")(app_command)
