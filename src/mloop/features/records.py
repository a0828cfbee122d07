"""Durable record writes for serving-time logging: `put_records`.

A record is acknowledged once it is committed to a local SQLite spool in WAL mode; a kill -9
after that loses nothing (power loss may lose the last commits: synchronous=NORMAL, the usual
WAL trade-off). For an online group whose online store is SQLite, the spool is that store's
`online_spool` table, written in the same transaction as the online update: one commit
acknowledges both, and a flush need not re-apply them. Otherwise (Redis, offline-only groups)
each writing process has its own spool file (`.mloop/spool/<group>/<host>-<pid>.db`), so
concurrent writers never queue for the spool, and the online store is updated right after.

Spooled records are flushed to one Parquet file per batch (an ingestion, bumping the data
version) by a background thread of a writing process when enough accumulate or the oldest is
old enough (writers never wait for Parquet), when the process exits, and before any `extract`
in this workspace. A flusher takes every spool of the group, so records of a process that died
are flushed by the next one.

Flushing is crash-safe and exactly-once: under an exclusive per-group file lock a flusher first
claims the pending rows of a spool file with a batch id, then writes the Parquet file, commits
the ingestion with `dedupe_key = records:<batch>` and finally deletes the batch from the spool.
A flusher killed at any step leaves a claimed batch that the next flusher finishes; the unique
dedupe key keeps it from being committed twice. Many processes may write and flush the same
group at once.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import sqlite3
import threading
import time
import uuid
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mloop.errors import MloopError
from mloop.features.groups import cached_group, commit_ingestion, get_group, mark_online_applied
from mloop.features.online.rows import record_row
from mloop.features.online.sqlite_conn import ThreadLocalDB, execute_retrying
from mloop.features.online.write import apply_parquet, put_deferred, spooling_store
from mloop.features.validate import arrow_schema, arrow_type, check_record
from mloop.store.leases import holder_gone
from mloop.store.locks import file_lock

if TYPE_CHECKING:
    import pyarrow as pa

    from mloop.features.schema import FeatureGroup
    from mloop.store import Workspace

log = logging.getLogger(__name__)
FLUSH_CHECK_SECONDS = 1.0  # how often a writer looks at the spool size and age
_SCHEMA = ("CREATE TABLE IF NOT EXISTS spool (seq INTEGER PRIMARY KEY, "
           "at REAL NOT NULL, data TEXT NOT NULL, batch TEXT)")


class _Spool:
    """A group's spool: a spool file (table `spool`), or, when `store` is given, the group's
    rows of `online_spool` in that SQLite online store (written by its `put_logged`)."""

    def __init__(self, path: Path, group: str | None = None, store: Any = None) -> None:
        self.path = path
        self.group = group if store is not None else None
        self.store = store
        self.db = ThreadLocalDB(path)
        self.unchecked = 0
        self.checked_at = time.monotonic()
        if store is None:
            execute_retrying(self.conn(), _SCHEMA)

    def conn(self) -> sqlite3.Connection:
        return self.db.conn()

    def query(self, sql: str, *params: object) -> sqlite3.Cursor:
        """`sql` with {t} the table and {s} a condition selecting this spool's rows (its
        parameters go last, so {s} must come after every other `?`)."""
        table, scope = ("spool", "1 = 1") if self.group is None else ("online_spool", "grp = ?")
        extra = () if self.group is None else (self.group,)
        return execute_retrying(self.conn(), sql.format(t=table, s=scope), *params, *extra)

    def append(self, rows: list[str]) -> None:
        now = time.time()
        self.db.write_many("INSERT INTO spool (at, data) VALUES (?, ?)", [(now, r) for r in rows])

    def pending(self) -> tuple[int, float | None]:
        count, oldest = self.query("SELECT count(*), min(at) FROM {t} WHERE {s}").fetchone()
        return int(count), oldest

    def close(self) -> None:
        self.db.close()

_spools: dict[tuple[str, str, int], _Spool] = {}  # this process's own spools
_opened: dict[tuple[Path, str | None], _Spool] = {}  # any spool a flusher of this process opened
_spools_lock = threading.Lock()
_workspaces: weakref.WeakSet[Any] = weakref.WeakSet()
_HOST = socket.gethostname()


def _spool_dir(ws: Workspace, group: str) -> Path:
    return ws.state_dir / "spool" / group


def _spool(ws: Workspace, group: str, online: bool) -> _Spool:
    """Where this process spools `group`: the online store's spool for an online group whose
    store can (one commit for both), else this process's file (a forked child gets its own)."""
    key = (str(ws.root), group, os.getpid())
    with _spools_lock:
        spool = _spools.get(key)
        if spool is None:
            store = spooling_store(ws) if online else None
            if store is not None:
                where: tuple[Path, str | None] = (store.path, group)
            else:
                where = (_spool_dir(ws, group) / f"{_HOST}-{os.getpid()}.db", None)
            spool = _spools[key] = _opened[where] = _opened.get(where) or _Spool(*where, store=store)
            _start_flusher(ws)
        return spool


def _group_spools(ws: Workspace, group: str) -> list[_Spool]:
    """Every spool of `group` in this workspace: the online store's, and every process's file."""
    legacy = ws.state_dir / "spool" / f"{group}.db"  # the one shared file per group of earlier versions
    paths = sorted(_spool_dir(ws, group).glob("*.db")) + ([legacy] if legacy.exists() else [])
    keys: list[tuple[Path, str | None]] = [(p, None) for p in paths]
    store = spooling_store(ws)
    if store is not None:
        keys.insert(0, (store.path, group))
    with _spools_lock:
        for key in keys:
            if key not in _opened:
                _opened[key] = _Spool(*key, store=store if key[1] is not None else None)
        return [_opened[k] for k in keys]


def put_records(ws: Workspace, group: str, records: list[dict[str, Any]]) -> None:
    """Append records to a feature group; returns once they are durable.

    Each record is validated against the group's schema (all of them before any is written);
    a missing event time gets the current time. The records reach the online store at once
    and the offline store at the next flush.

    Raises:
        FeatureGroupNotFound; InvalidInput for a record that does not fit the schema.
    """
    if not records:
        return
    grp = cached_group(ws, group)
    now = datetime.now(UTC)
    rows = [record_row(grp.spec, check_record(grp.spec, r, now)) for r in records]
    spool = _spool(ws, group, grp.spec.online)
    if spool.store is not None:
        spool.store.put_logged(group, rows)  # the acknowledgement point, online included
    else:
        spool.append([data for _, _, data in rows])  # the acknowledgement point
        if grp.spec.online:
            put_deferred(ws, group, rows)  # a failure is logged; the flush re-applies them
    spool.unchecked += len(rows)
    limits = ws.settings.features
    if spool.unchecked >= limits.flush_rows // 10 or time.monotonic() - spool.checked_at > FLUSH_CHECK_SECONDS:
        _maybe_flush(ws, group, spool)


def _due(ws: Workspace, spool: _Spool) -> bool:
    count, oldest = spool.pending()
    limits = ws.settings.features
    return count >= limits.flush_rows or (oldest is not None and time.time() - oldest >= limits.flush_seconds)


def _maybe_flush(ws: Workspace, group: str, spool: _Spool) -> None:
    """Hand a due flush to the background flusher, so writers never wait for Parquet."""
    spool.unchecked, spool.checked_at = 0, time.monotonic()
    if _due(ws, spool):
        _wake.set()


@contextmanager
def _flush_lock(ws: Workspace, group: str) -> Iterator[None]:
    with file_lock(ws.state_dir / "spool" / f"{group}.flush.lock"):
        yield


def flush_records(ws: Workspace, group: str) -> int:
    """Move every spooled record of `group` to the offline store now; returns rows flushed."""
    grp = get_group(ws, group)
    flushed = 0
    with _flush_lock(ws, group):
        for spool in _group_spools(ws, group):
            claimed = spool.query("SELECT DISTINCT batch FROM {t} WHERE batch IS NOT NULL AND {s}")
            for (batch,) in claimed.fetchall():
                flushed += _flush_batch(ws, grp, spool, batch)  # left by a killed flusher
            batch = uuid.uuid4().hex
            spool.query("UPDATE {t} SET batch = ? WHERE batch IS NULL AND {s}", batch)
            flushed += _flush_batch(ws, grp, spool, batch)
            _remove_if_orphaned(spool)
    return flushed


def spooled_count(ws: Workspace, group: str) -> int:
    """Acknowledged records of `group` not yet flushed to the offline store (every spool).

    `mloop features show` reports them as such, so a killed app's interactions never read as 0.
    """
    return sum(spool.pending()[0] for spool in _group_spools(ws, group))


def _remove_if_orphaned(spool: _Spool) -> None:
    """Delete an empty spool file whose writer process (on this host) is gone."""
    host, _, pid = spool.path.stem.rpartition("-")
    if spool.group is not None or not holder_gone(f"{host}:{pid}"):
        return
    if spool.pending()[0]:
        return
    with _spools_lock:
        _opened.pop((spool.path, None), None)
    spool.close()
    for suffix in ("", "-wal", "-shm", ".wlock"):
        Path(str(spool.path) + suffix).unlink(missing_ok=True)




def _table(grp: FeatureGroup, rows: list[tuple[int, str]]) -> pa.Table:
    import orjson
    import pyarrow as pa

    records = [orjson.loads(data) for _, data in rows]
    arrays = []
    for f in grp.spec.features:
        values = [r.get(f.name) for r in records]
        kind = arrow_type(f.type)
        arrays.append(pa.array(values, pa.string()).cast(kind) if f.type == "timestamp"
                      else pa.array(values, kind))
    arrays.append(pa.array([seq for seq, _ in rows], pa.int64()))
    return pa.Table.from_arrays(arrays, schema=arrow_schema(grp.spec))


def _flush_batch(ws: Workspace, grp: FeatureGroup, spool: _Spool, batch: str) -> int:
    import pyarrow.parquet as pq

    rows = spool.query("SELECT seq, data FROM {t} WHERE batch = ? AND {s} ORDER BY seq", batch).fetchall()
    if not rows:
        return 0
    tmp = ws.state_dir / "tmp"
    tmp.mkdir(exist_ok=True)
    staging = tmp / f"flush-{os.getpid()}-{batch}.parquet"
    try:
        pq.write_table(_table(grp, rows), staging, compression="zstd")
        digest = ws.artifacts.put(staging)
        committed = commit_ingestion(
            ws, grp, kind="records", source=f"put_records:{spool.path}"[:1000], source_hash=batch,
            dedupe_key=f"records:{batch}", digest=digest, rows=len(rows), rejected=0, quarantine=None)
        if committed is not None and grp.spec.online:
            try:  # a spool file's records: covers a crash between its commit and the online put
                if spool.group is None:
                    apply_parquet(ws, grp.spec, str(staging))
                mark_online_applied(ws, committed[0])
            except (MloopError, OSError, sqlite3.Error) as exc:  # the next ingest repairs it
                log.warning("online store update for %s deferred: %s", grp.name, exc)
    finally:
        staging.unlink(missing_ok=True)
    spool.query("DELETE FROM {t} WHERE batch = ? AND {s}", batch)
    return len(rows)


def flush_local(ws: Workspace, group: str) -> None:
    """Flush this workspace's spools of `group` if any holds records (before reads)."""
    if any(spool.pending()[0] for spool in _group_spools(ws, group)):
        flush_records(ws, group)


def drop_spool(ws: Workspace, group: str) -> None:
    import shutil

    with _spools_lock:
        for key in [k for k in _spools if k[:2] == (str(ws.root), group)]:
            _spools.pop(key).close()
        for opened in [k for k in _opened if k[0].parent == _spool_dir(ws, group) or k[1] == group]:
            _opened.pop(opened).close()
    shutil.rmtree(_spool_dir(ws, group), ignore_errors=True)
    legacy = ws.state_dir / "spool" / f"{group}.db"
    for suffix in ("", "-wal", "-shm", ".wlock", ".flush.lock"):
        Path(str(legacy) + suffix).unlink(missing_ok=True)


def close_records(ws: Workspace | None = None) -> None:
    """Flush every spool this process opened (for `ws`, or all); runs at interpreter exit."""
    for root, group, _pid in list(_spools):
        if ws is not None and root != str(ws.root):
            continue
        target = ws if ws is not None else next((w for w in _workspaces if str(w.root) == root), None)
        if target is None:
            continue
        try:
            flush_records(target, group)
        except Exception as exc:  # noqa: BLE001 — exit-time best effort: the records stay durable in the spool
            log.warning("flushing spooled records of %s at exit failed (they stay in the spool): %s", group, exc)


def _start_flusher(ws: Workspace) -> None:
    """One daemon thread per process flushes spools whose oldest record is too old."""
    _workspaces.add(ws)
    global _flusher_pid
    if _flusher_pid == os.getpid():
        return
    first = _flusher_pid is None  # a forked child inherits the exit hook, not the thread
    _flusher_pid = os.getpid()
    threading.Thread(target=_flush_loop, name="mloop-records-flusher", daemon=True).start()
    if first:
        atexit.register(close_records)


_flusher_pid: int | None = None


_wake = threading.Event()


def _flush_loop() -> None:
    while True:
        _wake.wait(0.5)
        _wake.clear()
        for (root, group, _pid), spool in list(_spools.items()):
            ws = next((w for w in _workspaces if str(w.root) == root), None)
            if ws is None:
                continue
            try:
                if _due(ws, spool):
                    flush_records(ws, group)
            except Exception as exc:  # noqa: BLE001 — keep flushing other groups; records stay in the spool; logged and counted
                _flush_failed(group, exc)
                continue
            _flush_failures.pop(group, None)


_flush_failures: dict[str, dict[str, Any]] = {}  # group -> the background flusher's failures in a row


def _flush_failed(group: str, exc: BaseException) -> None:
    """Log a background flush failure and count it, so `flush_failures` (the inference app's
    /healthz) shows records piling up in the spool instead of the failure passing unseen."""
    previous = _flush_failures.get(group) or {"failures": 0, "since": datetime.now(UTC).isoformat()}
    failure = {**previous, "failures": previous["failures"] + 1, "last_error": f"{type(exc).__name__}: {exc}"[:300]}
    if failure["failures"] in (1, 10) or failure["failures"] % 100 == 0:  # not once every half second
        log.warning("flushing spooled records of %s failed (%d in a row; they stay in the spool): %s",
                    group, failure["failures"], failure["last_error"], exc_info=failure["failures"] == 1)
    _flush_failures[group] = failure  # published once logged


def flush_failures() -> dict[str, dict[str, Any]]:
    """Groups whose background flush has failed since its last success in this process:
    `{group: {failures, since, last_error}}` (empty when every flush succeeds)."""
    return {group: dict(failure) for group, failure in _flush_failures.items()}
