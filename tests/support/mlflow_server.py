"""A real `mlflow server` on 127.0.0.1 (free port, SQLite backend in a temp dir), for tests.

Also `mlflow_db_template`: a migrated empty MLflow SQLite store to copy into fresh workspaces,
because creating one costs about a second of Alembic migrations per workspace.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.servers import free_port, wait_until


@contextmanager
def mlflow_server(directory: Path, template: Path | None = None, timeout: float = 120.0,
                  port: int | None = None) -> Iterator[str]:
    """Start `mlflow server` and yield its URL; stop it (and only it) afterwards.

    `template` (from `mlflow_db_template`) becomes the backend store, skipping its migration.
    `port`: a chosen port (a server that comes back where clients expect it), else a free one.
    """
    directory.mkdir(parents=True, exist_ok=True)
    if template is not None and not (directory / "mlflow.db").exists():
        shutil.copyfile(template, directory / "mlflow.db")
    port = port or free_port()
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
           "MLFLOW_DISABLE_TELEMETRY": "true", "GIT_PYTHON_REFRESH": "quiet"}
    log = open(directory / "server.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [str(bin_dir / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{directory / 'mlflow.db'}",
         "--artifacts-destination", str(directory / "artifacts"), "--workers", "1"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _healthy(url, proc), timeout=timeout, what=f"mlflow server on {url}")
        yield url
    finally:
        _stop(proc)
        log.close()


def _healthy(url: str, proc: subprocess.Popen[bytes]) -> bool:
    import httpx

    if proc.poll() is not None:
        raise RuntimeError(f"mlflow server exited with {proc.returncode}")
    return httpx.get(f"{url}/health", timeout=1).status_code == 200


def _stop(proc: subprocess.Popen[bytes]) -> None:
    import signal

    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # its own session: the server and its workers only
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def mlflow_db_template(directory: Path) -> Path:
    """Create a migrated, empty MLflow SQLite store in `directory` and return its path."""
    from mlflow import MlflowClient

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "mlflow.db"
    client = MlflowClient(tracking_uri=f"sqlite:///{path}", registry_uri=f"sqlite:///{path}")
    client.search_experiments()
    client.search_registered_models()
    return path


def install_mlflow_db(template: Path, workspace_root: Path) -> None:
    """Copy the template store to where a default workspace keeps its MLflow database."""
    target = workspace_root / ".mloop" / "mlflow.db"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, target)
