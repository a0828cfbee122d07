"""Datetimes in the metadata database: stored as UTC, read back aware on every backend.

Every mloop table keeps its times in `UtcDateTime` columns, so a reader gets an aware UTC
datetime whether the database is SQLite (which stores text and hands back naive values) or
PostgreSQL (which hands back values in the session's time zone). `as_utc` is for the times that
do not come from such a column (parsed text, a caller's argument).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, overload

from sqlalchemy import DateTime, Dialect
from sqlalchemy.types import TypeDecorator


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """`value` with UTC attached when it is naive (mloop's naive times are UTC); aware values as they are."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class UtcDateTime(TypeDecorator[datetime]):
    """A `DateTime(timezone=True)` column that stores UTC and always returns aware UTC datetimes.

    A naive value written is taken to be UTC already; an aware one in another zone is converted
    (SQLite would otherwise store its wall time and drop the offset). The database type is the
    plain `DateTime(timezone=True)` the migrations create, so the schema does not change.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return as_utc(value).astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return as_utc(value).astimezone(UTC)
