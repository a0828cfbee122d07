"""Running the model server: uvicorn on uvloop + httptools, one or more worker processes."""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

from mloop.errors import InvalidInput
from mloop.serving.errors import PortInUse


def check_port(host: str, port: int) -> None:
    """Fail early, with a clear message, when the port is taken.

    Raises:
        PortInUse: something already listens there.
    """
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise PortInUse(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                hint="Stop the process using it, or choose another port with --port.",
            ) from None


def serve(
    root: Path | None, endpoint: str, *, host: str = "127.0.0.1", port: int = 8080, workers: int = 1,
    poll_interval: float | None = None, model_dir: Path | None = None, fast: bool = True,
    log_level: str = "warning",
) -> None:
    """Serve `endpoint` (or a local model directory) until interrupted.

    Args:
        root: workspace root (None with `model_dir`: no metadata store needed).
        endpoint: endpoint name; with `model_dir` it is only the name the model answers to.
        workers: worker processes (each loads the models and follows the configuration).
        poll_interval: seconds between configuration checks (<= 1).
        model_dir: serve this model directory as a fixed endpoint (SageMaker's /opt/ml/model).

    Raises:
        PortInUse: the port is taken. InvalidInput: bad worker count or poll interval.
    """
    import uvicorn

    if workers < 1:
        raise InvalidInput(f"--workers must be at least 1, got {workers}")
    if poll_interval is not None and not 0 < poll_interval <= 1:
        raise InvalidInput(f"--poll-interval must be in (0, 1] seconds, got {poll_interval}")
    check_port(host, port)
    os.environ["_MLOOP_SERVE_ENDPOINT"] = endpoint
    os.environ["_MLOOP_SERVE_FAST"] = "1" if fast else "0"
    if root is not None:
        os.environ["MLOOP_WORKSPACE"] = str(root)
    if model_dir is not None:
        os.environ["_MLOOP_SERVE_MODEL_DIR"] = str(model_dir.resolve())
    if poll_interval is not None:
        os.environ["_MLOOP_SERVE_POLL"] = str(poll_interval)
    if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="mloop-metrics-")
    uvicorn.run(
        "mloop.serving.app:app_from_env", factory=True, host=host, port=port, workers=workers,
        loop="uvloop", http="httptools", lifespan="on", access_log=False, log_level=log_level,
        server_header=False, date_header=False, timeout_graceful_shutdown=10,
    )
