"""The metadata database contract, on SQLite and on the PostgreSQL server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mloop.errors import ConfigError, StoreUnavailable
from mloop.store import Database, list_events, record_event


def test_migrates_and_records_events(database_url: str) -> None:
    db = Database(database_url)
    db.migrate()
    db.migrate()  # idempotent
    first = record_event(db, "test.kind", "subject-a", {"n": 1}, principal="ana")
    record_event(db, "test.kind", "subject-b", {"n": 2})
    rows = list_events(db, kind="test.kind", subject="subject-a")
    assert [r["id"] for r in rows] == [first]
    assert rows[0]["detail"] == {"n": 1} and rows[0]["principal"] == "ana"
    db.dispose()


def test_a_failed_transaction_leaves_nothing(database_url: str) -> None:
    db = Database(database_url)
    db.migrate()
    from mloop.store.tables import events

    with pytest.raises(RuntimeError), db.begin() as conn:
        conn.execute(events.insert().values(at=__import__("datetime").datetime.now(), kind="k",
                                            subject="rolled-back", detail={}))
        raise RuntimeError("boom")
    assert list_events(db, subject="rolled-back") == []
    db.dispose()


MIGRATE = """
import sys
from mloop.store import Database, record_event
db = Database(sys.argv[1])
db.migrate()
record_event(db, "race", sys.argv[2], {})
"""


def test_two_processes_migrating_a_new_database_at_once(database_url: str, tmp_path: Path) -> None:
    if database_url.startswith("sqlite"):
        database_url = f"sqlite:///{tmp_path / 'race.db'}"
    procs = [
        subprocess.Popen([sys.executable, "-c", MIGRATE, database_url, f"p{i}"],
                         stderr=subprocess.PIPE, text=True)
        for i in range(4)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    db = Database(database_url)
    subjects = {r["subject"] for r in list_events(db, kind="race")}
    assert {"p0", "p1", "p2", "p3"} <= subjects
    db.dispose()


def test_unreachable_postgres_is_a_clear_error() -> None:
    db = Database("postgresql+psycopg://nobody@127.0.0.1:1/nothing")
    with pytest.raises(StoreUnavailable) as err:
        db.migrate()
    assert "cannot reach the metadata database" in err.value.message
    assert "mloop config show" in (err.value.hint or "")


def test_unsupported_or_malformed_urls_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unsupported database") as err:
        Database("mysql://root@127.0.0.1/test").migrate()
    assert "postgresql+psycopg" in (err.value.hint or "")
    with pytest.raises(ConfigError, match="not a usable SQLAlchemy URL"):
        Database("postgresql+nosuchdriver://x/y").migrate()
