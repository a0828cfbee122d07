"""`pytest -m "not postgres and not redis"` runs on a laptop with neither server.

Every test that reaches PostgreSQL or Redis carries the server's marker: tests/conftest.py adds it
from the test's fixtures, a fixture parametrized over backends marks its server param, and the
server fixtures fail a test that reached them unmarked. These run pytest itself, with both servers
pointed at a closed port, so they pass without either server.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLOSED = {"MLOOP_TEST_PG_URL": "postgresql+psycopg://postgres@127.0.0.1:1/test",
          "MLOOP_TEST_REDIS_URL": "redis://127.0.0.1:1/15"}
# A test naming a PG fixture, and fixtures parametrized over SQLite/PostgreSQL and SQLite/Redis.
FILES = ["tests/unit/cli/test_auth_cli.py", "tests/contract/test_database.py",
         "tests/contract/test_feature_online.py"]


def pytest_run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **CLOSED, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=240)


def collected(*args: str) -> list[str]:
    done = pytest_run("--collect-only", "-q", *args, *FILES)
    assert done.returncode == 0, done.stdout + done.stderr
    return [line for line in done.stdout.splitlines() if "::" in line]


def test_deselecting_the_servers_leaves_only_tests_that_need_neither() -> None:
    kept = collected("-m", "not postgres and not redis")
    assert kept and not [t for t in kept if "[postgres" in t or "[redis" in t or "shared_database" in t]
    assert any("[sqlite" in t for t in kept)
    servers = collected("-m", "postgres or redis")
    assert any("[postgres" in t for t in servers) and any("[redis" in t for t in servers)
    assert any("test_token_mode_is_the_default_on_a_shared_database" in t for t in servers)
    assert not [t for t in servers if "[sqlite" in t]


def test_a_server_reached_without_the_marker_fails_the_test(tmp_path: Path) -> None:
    (tmp_path / "test_sneaky.py").write_text(
        "import pytest\n\n\n"
        "@pytest.fixture(params=['postgres', 'redis'])\n"
        "def backend(request):\n"
        "    return request.getfixturevalue({'postgres': 'pg_url', 'redis': 'redis_url'}[request.param])\n\n\n"
        "def test_unmarked(backend):\n"
        "    pass\n")
    done = pytest_run("-p", "tests.conftest", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT),
                      str(tmp_path / "test_sneaky.py"), cwd=tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "2 errors" in out, out
    for server in ("postgres", "redis"):
        assert f"uses the {server} server but is not marked `{server}`" in out, out
