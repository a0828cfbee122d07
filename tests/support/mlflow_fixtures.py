"""Pytest fixtures for code that talks to MLflow (tests/conftest.py registers them for every test).

`ml_workspace` is the `workspace` fixture with a pre-migrated MLflow SQLite store copied in,
which saves about a second per test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.mlflow_server import install_mlflow_db, mlflow_db_template


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One template per test session, shared by every conftest that imports this fixture."""
    import fcntl

    directory = tmp_path_factory.getbasetemp() / "mlflow-template"
    directory.mkdir(exist_ok=True)
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = directory / "ready"
        if not done.exists():
            mlflow_db_template(directory)
            done.touch()
    return directory / "mlflow.db"


@pytest.fixture
def ml_workspace(workspace_dir: Path, mlflow_template: Path) -> Iterator[object]:
    """A fresh embedded workspace whose MLflow store already exists."""
    from mloop.store import open_workspace

    install_mlflow_db(mlflow_template, workspace_dir)
    ws = open_workspace(workspace_dir)
    yield ws
    ws.close()
