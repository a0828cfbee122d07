"""Where the test suite finds the PostgreSQL and Redis servers, and which tests need them.

The one place that names the servers: MLOOP_TEST_PG_URL and MLOOP_TEST_REDIS_URL override the
local defaults. A test that needs a server carries its pytest marker (`postgres`, `redis`) so
`pytest -m "not postgres and not redis"` runs on a laptop with neither; tests/conftest.py adds the
markers from each test's fixtures (`marks_for`) and the fixtures refuse an unmarked test
(`require_marker`), which catches a server reached through `request.getfixturevalue`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

PG_URL = os.environ.get("MLOOP_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("MLOOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

# The fixtures that reach each server (tests/conftest.py), by the marker their users carry (the
# moto S3 server is started by its fixture, so `s3` only says that a test starts it).
SERVER_FIXTURES = {
    "postgres": frozenset({"_pg_database", "pg_url"}),
    "redis": frozenset({"_redis_db", "redis_url"}),
    "s3": frozenset({"s3_endpoint", "s3_root"}),
}


def marks_for(fixturenames: object) -> list[str]:
    """The server markers a test needs, from the names of the fixtures it uses (its closure)."""
    names = set(fixturenames)  # type: ignore[call-overload]
    return [marker for marker, fixtures in SERVER_FIXTURES.items() if names & fixtures]


def require_marker(request: pytest.FixtureRequest, marker: str) -> None:
    """Fail a test that reaches a server without its marker (it would error on a bare laptop).

    Tests that name a server fixture are marked at collection; this catches the ones that reach
    it through another fixture's `request.getfixturevalue`: give that fixture's server param
    `pytest.param(..., marks=pytest.mark.<marker>)`.
    """
    if request.node.get_closest_marker(marker) is None:
        pytest.fail(f"{request.node.nodeid} uses the {marker} server but is not marked `{marker}`: "
                    f"mark its server param `pytest.param(..., marks=pytest.mark.{marker})` "
                    f"(tests/support/backends.py)", pytrace=False)


def pg_database_url(name: str) -> str:
    """The URL of database `name` on the test PostgreSQL server."""
    return PG_URL.rsplit("/", 1)[0] + "/" + name


@contextmanager
def fresh_pg_database(prefix: str = "mloop_t") -> Iterator[str]:
    """A new empty PostgreSQL database on the test server, dropped on exit; yields its URL."""
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 — any failure to create the database fails the test with the setup hint
        admin.dispose()
        pytest.fail(f"PostgreSQL at {PG_URL} is not usable ({exc}); start it (scripts/test-setup.sh does)")
    try:
        yield pg_database_url(name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
