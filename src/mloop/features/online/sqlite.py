"""SQLite online store (the default): one WITHOUT ROWID table keyed by (group, id), WAL mode.

The newest-wins rule is one statement (`ON CONFLICT ... DO UPDATE ... WHERE excluded.ts >=
ts`), so it holds across threads and processes without any read-modify-write race.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

from mloop.errors import ConfigError, StoreUnavailable
from mloop.features._sqlite import ThreadLocalDB, WriteLock, execute_retrying, write_many
from mloop.features.online import Row

_SCHEMA = """
CREATE TABLE IF NOT EXISTS online_records (
    grp TEXT NOT NULL, id TEXT NOT NULL, ts INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (grp, id)
) WITHOUT ROWID
"""
_UPSERT = (
    "INSERT INTO online_records (grp, id, ts, data) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (grp, id) DO UPDATE SET ts = excluded.ts, data = excluded.data "
    "WHERE excluded.ts >= online_records.ts"
)
_STAGED = (
    "INSERT INTO online_records (grp, id, ts, data) SELECT ?, id, ts, data FROM staged.rows "
    "WHERE rowid > ? AND rowid <= ? ORDER BY rowid "
    "ON CONFLICT (grp, id) DO UPDATE SET ts = excluded.ts, data = excluded.data "
    "WHERE excluded.ts >= online_records.ts"
)
STAGED_CHUNK = 100_000  # rows per transaction when applying a staged file (bounds lock hold time)
_CHUNK = 500  # ids per SELECT (well under SQLite's variable limit)


class SqliteOnlineStore:
    def __init__(self, url: str) -> None:
        if not url.startswith("sqlite:///"):
            raise ConfigError(f"online_store_url '{url}' must look like sqlite:///path/online.db")
        self.path = Path(url[len("sqlite:///") :].split("?", 1)[0])
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = ThreadLocalDB(self.path)
        execute_retrying(self._conn(), _SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        try:
            return self._db.conn()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot open the online store {self.path}: {exc}") from exc

    def put(self, group: str, rows: Iterable[Row]) -> None:
        self._conn()  # a store that cannot be opened is StoreUnavailable, as for reads
        self._db.write_many(_UPSERT, [(group, i, ts, data) for i, ts, data in rows])

    def put_staged(self, group: str, path: str) -> None:
        """Upsert the rows of a scratch file (`online_stage`) in row order, inside SQLite.

        Same rule and result as `put` of those rows, without binding each row from Python.
        The last commit is synced (synchronous=FULL: one fsync of the WAL, which covers every
        earlier frame): the caller then marks the ingestion "online applied" in the metadata
        DB, and that mark must not outlive rows a power loss could take back (with NORMAL,
        WAL commits are synced only at checkpoints).
        """
        conn = self._conn()
        execute_retrying(conn, "ATTACH DATABASE ? AS staged", path)
        try:
            last = conn.execute("SELECT max(rowid) FROM staged.rows").fetchone()[0] or 0
            for low in range(0, last, STAGED_CHUNK):
                if low + STAGED_CHUNK >= last:
                    conn.execute("PRAGMA main.synchronous=FULL")
                _publish_chunk(conn, self._db.lock(), group, low, low + STAGED_CHUNK)
        finally:
            conn.execute("PRAGMA main.synchronous=NORMAL")
            conn.execute("DETACH DATABASE staged")

    def get(self, group: str, ids: Sequence[str]) -> dict[str, str]:
        conn = self._conn()
        if len(ids) == 1:
            row = execute_retrying(
                conn, "SELECT data FROM online_records WHERE grp = ? AND id = ?", group, ids[0]
            ).fetchone()
            return {ids[0]: row[0]} if row else {}
        out: dict[str, str] = {}
        for start in range(0, len(ids), _CHUNK):
            part = list(ids[start : start + _CHUNK])
            marks = ",".join("?" * len(part))
            query = f"SELECT id, data FROM online_records WHERE grp = ? AND id IN ({marks})"
            out.update(execute_retrying(conn, query, group, *part).fetchall())
        return out

    def delete_group(self, group: str) -> None:
        execute_retrying(self._conn(), "DELETE FROM online_records WHERE grp = ?", group)

    def close(self) -> None:
        self._db.close()

def _publish_chunk(conn: sqlite3.Connection, lock: WriteLock, group: str, low: int, high: int) -> None:
    """One transaction: staged rows with low < rowid <= high."""
    write_many(conn, lock, _STAGED, [(group, low, high)])
