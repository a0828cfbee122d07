"""`UtcDateTime` stores UTC and reads back aware UTC datetimes on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from mloop.store.timestamps import UtcDateTime, as_utc

PLUS_TWO = timezone(timedelta(hours=2))


@pytest.fixture
def table(database_url: str) -> Iterator[tuple[sa.Engine, sa.Table]]:
    # PostgreSQL's session runs in a zone that is not UTC, so a value read back in it must be converted.
    args = {} if database_url.startswith("sqlite") else {"options": "-c timezone=Asia/Tokyo"}
    engine = sa.create_engine(database_url, connect_args=args)
    meta = sa.MetaData()
    t = sa.Table("utc_times", meta, sa.Column("id", sa.Integer, primary_key=True), sa.Column("at", UtcDateTime()))
    meta.create_all(engine)
    yield engine, t
    meta.drop_all(engine)
    engine.dispose()


def _roundtrip(engine: sa.Engine, t: sa.Table, value: datetime | None) -> datetime | None:
    with engine.begin() as conn:
        row_id = conn.execute(t.insert().values(at=value)).inserted_primary_key[0]
        return conn.execute(sa.select(t.c.at).where(t.c.id == row_id)).scalar_one()


def test_a_naive_value_is_read_back_as_aware_utc(table: tuple[sa.Engine, sa.Table]) -> None:
    out = _roundtrip(*table, datetime(2026, 3, 29, 1, 30, 15, 123456))
    assert out == datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=UTC)
    assert out is not None and out.tzinfo is UTC


def test_an_offset_value_is_stored_and_read_back_as_utc(table: tuple[sa.Engine, sa.Table]) -> None:
    out = _roundtrip(*table, datetime(2026, 3, 29, 12, 0, tzinfo=PLUS_TWO))
    assert out is not None and out.tzinfo is UTC
    assert (out.hour, out.minute) == (10, 0)


def test_none_stays_none(table: tuple[sa.Engine, sa.Table]) -> None:
    assert _roundtrip(*table, None) is None


def test_comparisons_in_queries_use_the_utc_instant(table: tuple[sa.Engine, sa.Table]) -> None:
    engine, t = table
    with engine.begin() as conn:
        conn.execute(t.insert().values(at=datetime(2026, 3, 29, 12, 0, tzinfo=PLUS_TWO)))  # 10:00 UTC
        before_11 = conn.execute(sa.select(t.c.id).where(t.c.at < datetime(2026, 3, 29, 11, 0, tzinfo=UTC)))
        assert len(before_11.all()) == 1
        after_11_local = conn.execute(sa.select(t.c.id).where(t.c.at > datetime(2026, 3, 29, 11, 0)))
        assert after_11_local.all() == []  # a naive bound is UTC too


def test_aggregates_keep_the_type(table: tuple[sa.Engine, sa.Table]) -> None:
    engine, t = table
    with engine.begin() as conn:
        conn.execute(t.insert(), [{"at": datetime(2026, 1, d)} for d in (1, 2, 3)])
        newest = conn.execute(sa.select(sa.func.max(t.c.at))).scalar_one()
    assert newest == datetime(2026, 1, 3, tzinfo=UTC) and newest.tzinfo is UTC


def test_as_utc_attaches_utc_to_naive_values_only() -> None:
    assert as_utc(None) is None
    assert as_utc(datetime(2026, 1, 1)) == datetime(2026, 1, 1, tzinfo=UTC)
    aware = datetime(2026, 1, 1, tzinfo=PLUS_TWO)
    assert as_utc(aware) is aware
