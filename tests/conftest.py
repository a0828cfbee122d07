"""Fixtures shared by every test layer.

Backends come from the environment with the local servers as defaults:
MLOOP_TEST_PG_URL (postgresql+psycopg://postgres@127.0.0.1:5432/test),
MLOOP_TEST_REDIS_URL (redis://127.0.0.1:6379/15). Each test session gets its own PostgreSQL
database, created and dropped here, so runs never see each other's rows. S3 is a moto server
started on a free loopback port.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import free_port, port_open, wait_until

PG_URL = os.environ.get("MLOOP_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("MLOOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's MLOOP_* variables or AWS profile."""
    for name in list(os.environ):
        if name.startswith("MLOOP_") and not name.startswith("MLOOP_TEST_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLOOP_PRINCIPAL", "tester")
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    monkeypatch.setenv("GIT_PYTHON_REFRESH", "quiet")


@pytest.fixture
def workspace_dir(tmp_path: Path) -> Path:
    from mloop.config import init_workspace

    root = tmp_path / "ws"
    init_workspace(root)
    return root


@pytest.fixture
def workspace(workspace_dir: Path) -> Iterator[object]:
    """A fresh embedded workspace (SQLite, local artifacts)."""
    from mloop.store import open_workspace

    ws = open_workspace(workspace_dir)
    yield ws
    ws.close()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session (dropped afterwards)."""
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"mloop_t_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        pytest.fail(f"PostgreSQL at {PG_URL} is not usable ({exc}); start it (see .ci/run)")
    url = PG_URL.rsplit("/", 1)[0] + "/" + name
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The Redis test database, emptied before and after each test."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    except Exception as exc:
        pytest.fail(f"Redis at {REDIS_URL} is not usable ({exc}); start it (see .ci/run)")
    yield REDIS_URL
    client.flushdb()
    client.close()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server on a free loopback port, with dummy credentials in the environment."""
    from moto.server import ThreadedMotoServer

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    wait_until(lambda: port_open(port), what="moto S3 server")
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_root(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket on the moto server, as an artifact_root URL."""
    from mloop.store.artifacts.s3 import make_bucket

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    url = f"s3://b-{uuid.uuid4().hex[:12]}/artifacts"
    make_bucket(url, s3_endpoint)
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Contract tests run once per metadata backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'meta.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture(params=["local", "s3"])
def artifact_root(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Contract tests run once per artifact backend."""
    if request.param == "local":
        return str(tmp_path / "artifacts")
    return str(request.getfixturevalue("s3_root"))
