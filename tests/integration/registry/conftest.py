from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.mlflow_server import mlflow_server


@pytest.fixture(scope="session")
def mlflow_url(tmp_path_factory: pytest.TempPathFactory, mlflow_template: Path) -> Iterator[str]:
    """A real `mlflow server` on a free 127.0.0.1 port with a SQLite backend in a temp dir."""
    with mlflow_server(tmp_path_factory.mktemp("mlflow-server"), template=mlflow_template) as url:
        yield url
