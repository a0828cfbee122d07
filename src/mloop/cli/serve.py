"""`mloop serve`: the model server for one endpoint (or one local model directory)."""

from __future__ import annotations

from pathlib import Path

import typer

SAGEMAKER_MODEL_DIR = Path("/opt/ml/model")


def serve(
    endpoint: str | None = typer.Argument(
        None, help="Endpoint to serve (default: the serving.endpoint setting). SageMaker's 'serve' "
        "argument is accepted and ignored."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind (0.0.0.0 in containers)."),
    port: int = typer.Option(8080, "--port", "-p", min=1, max=65535, help="Port to listen on."),
    workers: int = typer.Option(1, "--workers", "-w", help="Worker processes."),
    poll_interval: float | None = typer.Option(None, "--poll-interval",
                                               help="Seconds between configuration checks (<= 1)."),
    model_dir: Path | None = typer.Option(
        None, "--model-dir", help="Serve this model directory, no workspace needed "
        "(default in a SageMaker container: /opt/ml/model when no endpoint is configured)."),
    batching: bool = typer.Option(True, "--batching/--no-batching",
                                  help="Concurrent requests share one model call."),
) -> None:
    """Serve an endpoint over HTTP: SageMaker /ping + /invocations, KServe V1 and V2, /metrics."""
    import os

    from mloop.errors import InvalidInput
    from mloop.serving.server.serve import check_port
    from mloop.serving.server.serve import serve as run

    if endpoint == "serve":  # SageMaker runs `<image> serve`
        endpoint = None
    if endpoint is not None:
        from mloop.serving.endpoints import check_endpoint_name

        check_endpoint_name(endpoint)  # it names files under .mloop/serving: never a path
    root = None
    if model_dir is None:
        root, endpoint, model_dir = _resolve(endpoint)
    if model_dir is not None and not model_dir.is_dir():
        raise InvalidInput(f"--model-dir {model_dir} is not a directory")
    check_port(host, port)
    typer.echo(f"serving {endpoint or model_dir} on http://{host}:{port} "
               f"({workers} worker{'s' if workers > 1 else ''}; pid {os.getpid()})", err=True)
    run(root, endpoint or "model", host=host, port=port, workers=workers, poll_interval=poll_interval,
        model_dir=model_dir, batching=batching, factory="mloop.web.security:serving_app")


def _resolve(endpoint: str | None) -> tuple[Path | None, str | None, Path | None]:
    """(workspace root, endpoint, model dir): an endpoint of the workspace, else SageMaker's model."""
    from mloop.config import find_workspace, load_settings
    from mloop.errors import InvalidInput, WorkspaceNotFound

    try:
        root: Path | None = find_workspace()
    except WorkspaceNotFound:
        if endpoint is None and SAGEMAKER_MODEL_DIR.is_dir():
            return None, None, SAGEMAKER_MODEL_DIR
        raise
    endpoint = endpoint or load_settings(root).settings.serving.endpoint
    if endpoint is None:
        if SAGEMAKER_MODEL_DIR.is_dir():
            return None, None, SAGEMAKER_MODEL_DIR
        raise InvalidInput("name the endpoint to serve: `mloop serve ENDPOINT`",
                           hint="or set serving.endpoint (MLOOP_SERVING__ENDPOINT)")
    return root, endpoint, None


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
