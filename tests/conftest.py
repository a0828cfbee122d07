"""Fixtures shared by every test layer.

Backends come from the environment with the local servers as defaults (tests/support/backends.py:
MLOOP_TEST_PG_URL, MLOOP_TEST_REDIS_URL). Each test session gets its own PostgreSQL database
(created and dropped here) and its own Redis database number (claimed here), so two checkouts can
run their suites at once. S3 is a moto server started on a free loopback port.

A test that needs PostgreSQL or Redis carries the `postgres` or `redis` marker (added here from its
fixtures, or by the server param of a fixture parametrized over backends), so
`pytest -m "not postgres and not redis"` runs with neither server.
"""

from __future__ import annotations

import atexit
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from mloop.config import SEED_ENV_ALIASES
from tests.support.backends import REDIS_URL, fresh_pg_database, marks_for, require_marker
from tests.support.servers import free_port, port_open, wait_until

# Fixtures several test folders use: the MLflow-backed workspace and the release repository.
pytest_plugins = ["tests.support.mlflow_fixtures", "tests.support.release_repo"]


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test whose fixtures reach PostgreSQL, Redis or the S3 server."""
    for item in items:
        for marker in marks_for(getattr(item, "fixturenames", ())):
            item.add_marker(marker)


def pytest_configure(config: pytest.Config) -> None:
    """Temporary folders per checkout: pytest keeps only the newest three sessions under one root,
    so two checkouts testing at once deleted each other's folders mid-run."""
    if not config.option.basetemp and "PYTEST_DEBUG_TEMPROOT" not in os.environ:
        import hashlib
        import tempfile

        checkout = hashlib.sha256(str(config.rootpath).encode()).hexdigest()[:10]
        root = Path(tempfile.gettempdir()) / f"mloop-tests-{checkout}"
        root.mkdir(exist_ok=True)
        os.environ["PYTEST_DEBUG_TEMPROOT"] = str(root)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's MLOOP_* variables or AWS profile."""
    for name in list(os.environ):
        if (name.startswith("MLOOP_") and not name.startswith("MLOOP_TEST_")) or name in SEED_ENV_ALIASES:
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
def _pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session (dropped afterwards)."""
    with fresh_pg_database() as url:
        yield url


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> str:
    """This session's PostgreSQL database, for a test marked `postgres`."""
    require_marker(request, "postgres")
    return str(request.getfixturevalue("_pg_database"))


@pytest.fixture(scope="session")
def _redis_db() -> Iterator[str]:
    """A Redis database number claimed for this test session, so two suites never share one.

    Databases 1-15 are claimed with a key in database 0 that expires on its own if a session is
    killed; MLOOP_TEST_REDIS_URL's database is the first one tried.
    """
    import redis

    base, _, first = REDIS_URL.rpartition("/")
    admin = redis.Redis.from_url(base + "/0")
    token = uuid.uuid4().hex
    try:
        candidates = [int(first)] + [n for n in range(15, 0, -1) if n != int(first)]
        claimed = next((n for n in candidates if admin.set(f"mloop-test-db:{n}", token, nx=True, ex=3600)), None)
    except Exception as exc:  # noqa: BLE001 — any failure to reach Redis fails the test with the setup hint
        pytest.fail(f"Redis at {REDIS_URL} is not usable ({exc}); start it (scripts/test-setup.sh does)")
    if claimed is None:
        pytest.fail("every Redis test database 1-15 is claimed by another test session; wait or flush db 0")
    yield f"{base}/{claimed}"
    if admin.get(f"mloop-test-db:{claimed}") == token.encode():
        admin.delete(f"mloop-test-db:{claimed}")
    admin.close()


@pytest.fixture
def redis_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """This session's Redis test database, emptied before and after each test marked `redis`."""
    import redis

    require_marker(request, "redis")
    url = str(request.getfixturevalue("_redis_db"))
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Contract tests run once per metadata backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'meta.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def artifact_root(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Contract tests run once per artifact backend."""
    if request.param == "local":
        return str(tmp_path / "artifacts")
    return str(request.getfixturevalue("s3_root"))


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def online_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Contract tests run once per online store backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'online.db'}"
    return str(request.getfixturevalue("redis_url"))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Keep interpreter-teardown noise out of the test report.

    DuckDB 2.0's Python module is built with nanobind, which at interpreter exit prints ~100 lines
    of `nanobind: leaked 27 instances / 15 types / 111 functions` when DuckDB's module objects are
    still referenced then (reproduced: two inference-app tests that read an empty interactions
    group in one process; no DuckDB connection or relation is alive at exit, so the count is kept
    inside DuckDB's binding code). The switch nanobind offers (`set_leak_warnings`) is C++-only
    and DuckDB does not expose it. Everything pytest reports is written by now, so the process's
    stderr goes to /dev/null for the teardown (from Python's exit handlers on: pytest restores its
    captured file descriptors after this hook).
    """

    def quiet_teardown() -> None:
        sys.stderr.flush()
        os.dup2(os.open(os.devnull, os.O_WRONLY), 2)

    atexit.register(quiet_teardown)
