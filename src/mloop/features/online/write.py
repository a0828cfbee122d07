"""Writing to the online store above its waist: an offline Parquet file streamed in, and the
records `put_records` logged, for a store that cannot spool them itself.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, BinaryIO

from mloop.errors import MloopError
from mloop.features.online.backends import online_store
from mloop.features.online.base import Row, SpoolsRecords
from mloop.features.online.rows import parquet_tables, rows_from_table

if TYPE_CHECKING:
    from mloop.features.schema import FeatureGroupSpec
    from mloop.store import Workspace

log = logging.getLogger(__name__)


def apply_parquet(ws: Workspace, spec: FeatureGroupSpec, source: str | BinaryIO) -> int:
    """Upsert every row of an offline Parquet file into the online store; returns rows.

    Building the rows of the next batch (DuckDB) overlaps with writing the current one (the
    store's client); both release the GIL, so the two cores work at once.
    """
    store = online_store(ws)
    done = 0
    with ThreadPoolExecutor(1, thread_name_prefix="mloop-online-rows") as pool:
        pending = None
        for table in parquet_tables(source):
            future = pool.submit(rows_from_table, spec, table)
            if pending is not None:
                store.put(spec.name, pending.result())
            pending = future
            done += table.num_rows
        if pending is not None:
            store.put(spec.name, pending.result())
    return done


def spooling_store(ws: Workspace) -> SpoolsRecords | None:
    """The online store when it can spool records itself (SQLite), else None."""
    store = online_store(ws)
    return store if isinstance(store, SpoolsRecords) else None


def put_deferred(ws: Workspace, group: str, rows: Sequence[Row]) -> None:
    """Update the online store with records already durable in a spool: a failure here must not
    turn into an error the caller would retry (a duplicate), so it is logged and the flush
    re-applies them."""
    try:
        online_store(ws).put(group, rows)
    except (MloopError, OSError, sqlite3.Error) as exc:
        log.warning("online store update for %s deferred to the next flush: %s", group, exc)
