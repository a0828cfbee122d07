"""Datetimes read back from the metadata database, as aware UTC values on every backend."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """`value` with UTC attached when it is naive.

    Every mloop table stores UTC; PostgreSQL hands timestamps back aware, SQLite naive. Comparing
    a naive and an aware datetime raises, so readers pass what they read through here.
    """
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
