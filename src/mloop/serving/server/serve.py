"""The model server's process entry: uvicorn on uvloop + httptools, one or more worker processes
(each builds its app with `app.app_from_env`), and the note that tells the workspace where an
endpoint is served."""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from mloop.errors import InvalidInput
from mloop.serving.endpoints.records import check_endpoint_name
from mloop.serving.errors import PortInUse
from mloop.store.files import atomic_write
from mloop.store.leases import pid_alive

if TYPE_CHECKING:
    from mloop.store import Workspace


def check_port(host: str, port: int) -> None:
    """Fail early, with a clear message, when the address cannot be bound (every mloop server).

    Raises:
        PortInUse: something already listens there. InvalidInput: the host does not resolve.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise InvalidInput(f"cannot bind to host '{host}': {exc.strerror}", hint="Use --host 127.0.0.1") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            raise PortInUse(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                hint="Stop the process using it, or choose another port with --port.",
            ) from None


def serve(
    root: Path | None, endpoint: str, *, host: str = "127.0.0.1", port: int = 8080, workers: int = 1,
    poll_interval: float | None = None, model_dir: Path | None = None, fast: bool = True,
    batching: bool = True, log_level: str = "warning", factory: str = "mloop.serving.server.app:app_from_env",
) -> None:
    """Serve `endpoint` (or a local model directory) until interrupted.

    Args:
        root: workspace root (None with `model_dir`: no metadata store needed).
        endpoint: endpoint name; with `model_dir` it is only the name the model answers to.
        workers: worker processes (each loads the models and follows the configuration).
        poll_interval: seconds between configuration checks (<= 1).
        model_dir: serve this model directory as a fixed endpoint (SageMaker's /opt/ml/model).
        factory: "module:function" building each worker's ASGI app (`mloop serve` puts the
            browser defences of `mloop.web.security` in front).

    Raises:
        PortInUse: the port is taken. InvalidInput: bad endpoint name, worker count or poll interval.
    """
    import uvicorn

    from mloop.serving.server import balance  # imports uvicorn, which the CLI loads only to serve

    check_endpoint_name(endpoint)
    if workers < 1:
        raise InvalidInput(f"--workers must be at least 1, got {workers}")
    if poll_interval is not None and not 0 < poll_interval <= 1:
        raise InvalidInput(f"--poll-interval must be in (0, 1] seconds, got {poll_interval}")
    check_port(host, port)
    os.environ["_MLOOP_SERVE_ENDPOINT"] = endpoint
    os.environ["_MLOOP_SERVE_HOST"] = host
    os.environ["_MLOOP_SERVE_FAST"] = "1" if fast else "0"
    os.environ["_MLOOP_SERVE_BATCHING"] = "1" if batching else "0"
    if root is not None:
        os.environ["MLOOP_WORKSPACE"] = str(root)
    if model_dir is not None:
        os.environ["_MLOOP_SERVE_MODEL_DIR"] = str(model_dir.resolve())
    if poll_interval is not None:
        os.environ["_MLOOP_SERVE_POLL"] = str(poll_interval)
    os.environ["_MLOOP_READ_TIMEOUT_S"] = str(read_timeout(root))
    if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="mloop-metrics-")
    protocol = "mloop.serving.server.timeouts:ReadTimeoutProtocol"
    shared = None
    if workers > 1:  # spread keep-alive connections evenly over the workers (see balance.py)
        shared = Path(tempfile.mkdtemp(prefix="mloop-serve-"))
        os.environ[balance.ENV] = str(balance.create(shared, workers))
        protocol = "mloop.serving.server.balance:BalancedProtocol"
    note = _announce(root, endpoint, host, port) if root is not None and model_dir is None else None
    try:
        uvicorn.run(
            factory, factory=True, host=host, port=port, workers=workers,
            loop="uvloop", http=protocol, lifespan="on", access_log=False,
            log_level=log_level, server_header=False, date_header=False, timeout_graceful_shutdown=10,
            timeout_keep_alive=5,
        )
    finally:
        if note is not None:
            note.unlink(missing_ok=True)
        if shared is not None:
            os.environ.pop(balance.ENV, None)
            shutil.rmtree(shared, ignore_errors=True)


def read_timeout(root: Path | None) -> float:
    """`server.read_timeout_s` of the workspace at `root` (no workspace: environment, else default)."""
    # pydantic (settings): `import mloop.serving` (and so `served_url`) stays light
    from mloop.config import load_settings
    from mloop.config.sections import ServerSettings

    if root is not None:
        return load_settings(root).settings.server.read_timeout_s
    value = os.environ.get("MLOOP_SERVER__READ_TIMEOUT_S")
    return ServerSettings.model_validate({"read_timeout_s": value} if value else {}).read_timeout_s


def _servers_dir(root: Path) -> Path:
    from mloop.config import STATE_DIR

    path = root / STATE_DIR / "serving" / "servers"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _announce(root: Path, endpoint: str, host: str, port: int) -> Path:
    """Tell this workspace where the endpoint is served (the inference app finds it so)."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    path = _servers_dir(root) / f"{endpoint}.json"
    atomic_write(path, json.dumps({"url": f"http://{shown}:{port}", "pid": os.getpid(), "port": port}))
    return path


def served_url(ws: Workspace, endpoint: str) -> str | None:
    """The URL of a live `mloop serve` of `endpoint` started from this workspace, or None."""
    path = _servers_dir(ws.root) / f"{endpoint}.json"
    try:
        note = json.loads(path.read_text())
        pid = int(note["pid"])
    except (OSError, ValueError, KeyError):
        return None
    if not pid_alive(pid):
        return None
    parts = urlsplit(str(note["url"]))
    with socket.socket() as sock:
        sock.settimeout(0.5)
        if sock.connect_ex((parts.hostname or "127.0.0.1", parts.port or int(note["port"]))) != 0:
            return None
    return str(note["url"])
