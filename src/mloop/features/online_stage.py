"""Online rows of an ingestion, built while it validates and published after its commit.

The online upsert used to start only after the metadata commit: read the staged Parquet back,
build (id, event time, JSON) rows with DuckDB, bind them row by row into SQLite. Now a worker
thread turns each validated block into rows as soon as it exists (overlapping validation on
the second core) and appends them to a scratch SQLite file; after the commit the SQLite online
store applies the whole file with `INSERT ... SELECT ... ON CONFLICT` inside SQLite (no Python
per row on the critical path).

The scratch file is not durable and need not be: it is written with synchronous=OFF and no
journal, and it is never the source of truth. Before the commit a crash loses only it (the
ingestion did not happen); after the commit a crash mid-publish leaves the ingestion marked
"online not applied", and the next ingest or flush re-applies it from the immutable Parquet
file (`ingest.repair_online`), where newest-wins makes re-applying idempotent.
"""

from __future__ import annotations

import contextlib
import sqlite3
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

    from mloop.features.schema import FeatureGroupSpec
    from mloop.store import Workspace


THREADS = 1  # DuckDB threads for the rows: the main thread is validating on the other core


class OnlineStage:
    """A scratch SQLite file of online rows in row order, filled by one worker thread."""

    def __init__(self, spec: FeatureGroupSpec, path: Path) -> None:
        self.spec = spec
        self.path = path
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="mloop-online-stage")
        self._pending: Future[None] | None = None
        self._conn: sqlite3.Connection | None = None

    def _append(self, table: pa.Table) -> None:
        from mloop.features.online_rows import rows_from_table

        rows = rows_from_table(self.spec, table, threads=THREADS)
        if self._conn is None:  # created in the worker thread that uses it
            self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode=OFF")
            self._conn.execute("PRAGMA synchronous=OFF")
            self._conn.execute("CREATE TABLE IF NOT EXISTS rows (id TEXT, ts INTEGER, data TEXT)")
        self._conn.execute("BEGIN")
        self._conn.executemany("INSERT INTO rows VALUES (?, ?, ?)", rows)
        self._conn.execute("COMMIT")

    def add(self, table: pa.Table) -> None:
        """Queue a validated block; waits for the previous one, so at most two are in memory."""
        if self._pending is not None:
            self._pending.result()
        self._pending = self._pool.submit(self._append, table)

    def finish(self) -> None:
        """Wait until every queued block is in the scratch file (re-raises a worker error)."""
        try:
            if self._pending is not None:
                self._pending.result()
        finally:
            self._pending = None
            self._pool.shutdown(wait=True)
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def discard(self) -> None:
        """Drop the scratch file; a worker error here is moot (the ingest already failed or ended)."""
        with contextlib.suppress(Exception):  # the caller's own exception is the one to see
            self.finish()
        self.path.unlink(missing_ok=True)


def start_stage(ws: Workspace, spec: FeatureGroupSpec, path: Path) -> OnlineStage | None:
    """A stage when the group is online and its store can apply one (SQLite), else None."""
    from mloop.features.online import online_store

    if not spec.online or not hasattr(online_store(ws), "put_staged"):
        return None
    path.unlink(missing_ok=True)
    return OnlineStage(spec, path)


def publish(ws: Workspace, spec: FeatureGroupSpec, stage: OnlineStage) -> None:
    """Apply a finished stage to the online store (after the ingestion's commit)."""
    from mloop.features.online import online_store

    stage.finish()
    if stage.path.exists():
        store: Any = online_store(ws)
        store.put_staged(spec.name, str(stage.path))
