"""SQLite online store (the default): a WITHOUT ROWID table keyed by (group, id), WAL mode,
plus the sorted runs of bulk ingests (`online.runs`).

Rows written one by one (`put`, and `put_logged` for serving-time records, which also spools
them for the offline store in the same transaction) go into the B-tree, where the
newest-wins rule is one statement (`ON CONFLICT ... DO UPDATE ... WHERE excluded.ts >= ts`), so
it holds across threads and processes without any read-modify-write race. An ingest's rows go
into run files that are registered in one transaction (`add_runs`). A read takes, per id, the
newest event time over the B-tree and the group's runs; at equal event times the later
registered run wins, and any run wins over a single write. A publish that leaves more than
`MAX_DEPTH` runs overlapping merges the group's runs into disjoint ones (`runs.merge`), so a
read searches few runs however many ingests came before.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from mloop.errors import ConfigError, StoreUnavailable
from mloop.features.online.base import Row
from mloop.features.online.runs import Run, RunWriter, merge, overlap_depth, remove_run
from mloop.features.online.sqlite_conn import ThreadLocalDB, execute_retrying, write_all, write_many
from mloop.store.leases import pid_alive

if TYPE_CHECKING:
    from mloop.features.schema import FeatureGroupSpec

_SCHEMA = """
CREATE TABLE IF NOT EXISTS online_records (
    grp TEXT NOT NULL, id TEXT NOT NULL, ts INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (grp, id)
) WITHOUT ROWID
"""
_SPOOL_SCHEMA = """
CREATE TABLE IF NOT EXISTS online_spool (
    seq INTEGER PRIMARY KEY, grp TEXT NOT NULL, at REAL NOT NULL, data TEXT NOT NULL, batch TEXT
)
"""
_RUNS_SCHEMA = """
CREATE TABLE IF NOT EXISTS online_runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, grp TEXT NOT NULL, file TEXT NOT NULL UNIQUE
)
"""
_UPSERT = (
    "INSERT INTO online_records (grp, id, ts, data) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (grp, id) DO UPDATE SET ts = excluded.ts, data = excluded.data "
    "WHERE excluded.ts >= online_records.ts"
)
MAX_DEPTH = 8  # runs whose key ranges may overlap before a publish merges them
_CHUNK = 500  # ids per SELECT (well under SQLite's variable limit)


class SqliteOnlineStore:
    def __init__(self, url: str) -> None:
        if not url.startswith("sqlite:///"):
            raise ConfigError(f"online_store_url '{url}' must look like sqlite:///path/online.db")
        self.path = Path(url[len("sqlite:///") :].split("?", 1)[0])
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.runs_dir = self.path.parent / f"{self.path.stem}-runs"
        self._db = ThreadLocalDB(self.path)
        self._group_runs: dict[str, tuple[list[str], list[Run]]] = {}  # opened once per process
        conn = self._conn()
        execute_retrying(conn, _SCHEMA)
        execute_retrying(conn, _RUNS_SCHEMA)
        execute_retrying(conn, _SPOOL_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        try:
            return self._db.conn()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"cannot open the online store {self.path}: {exc}") from exc

    def put(self, group: str, rows: Iterable[Row]) -> None:
        self._conn()  # a store that cannot be opened is StoreUnavailable, as for reads
        self._db.write_many(_UPSERT, [(group, i, ts, data) for i, ts, data in rows])

    def put_logged(self, group: str, rows: Sequence[Row]) -> None:
        """Spool records for the offline store (`features.records`) and upsert them, in one
        transaction: a single commit acknowledges both, and a flush need not re-apply them."""
        conn = self._conn()
        now = time.time()
        write_all(conn, self._db.lock(), [
            ("INSERT INTO online_spool (grp, at, data) VALUES (?, ?, ?)", [(group, now, d) for _, _, d in rows]),
            (_UPSERT, [(group, i, ts, d) for i, ts, d in rows])])

    def run_writer(self, spec: FeatureGroupSpec) -> RunWriter:
        """A writer of sorted runs for a bulk load of `spec`'s group (see `add_runs`)."""
        self._sweep(spec.name)
        return RunWriter(spec, self.runs_dir / spec.name)

    def add_runs(self, group: str, files: Sequence[Path]) -> None:
        """Make finished run files visible to reads, all at once (one transaction).

        Synced (synchronous=FULL): the caller then marks the ingestion "online applied" in the
        metadata DB, and that mark must not outlive a registration a power loss could undo.
        """
        conn = self._conn()
        rows = [(group, str(Path(f).relative_to(self.runs_dir))) for f in files]
        conn.execute("PRAGMA main.synchronous=FULL")
        try:
            write_many(conn, self._db.lock(), "INSERT INTO online_runs (grp, file) VALUES (?, ?)", rows)
        finally:
            conn.execute("PRAGMA main.synchronous=NORMAL")
        runs = self._runs(conn, group)
        if overlap_depth(runs) > MAX_DEPTH:
            self._merge(group, runs)

    def _merge(self, group: str, runs: list[Run]) -> None:
        """Replace every run of the group by disjoint merged runs, unless another process
        registered or merged runs meanwhile (then the next publish merges)."""
        merged = merge(runs, self.runs_dir / group)
        old = [str(run.path.relative_to(self.runs_dir)) for run in runs]
        swapped = write_all(self._conn(), self._db.lock(), [
            ("DELETE FROM online_runs WHERE file = ?", [(name,) for name in old]),
            ("INSERT INTO online_runs (grp, file) VALUES (?, ?)",
             [(group, str(p.relative_to(self.runs_dir))) for p in merged]),
        ], only_if=lambda conn: self._run_files(conn, group) == old)
        for path in [run.path for run in runs] if swapped else merged:
            remove_run(path)

    def _run_files(self, conn: sqlite3.Connection, group: str) -> list[str]:
        rows = execute_retrying(conn, "SELECT file FROM online_runs WHERE grp = ? ORDER BY seq", group)
        return [name for (name,) in rows.fetchall()]

    def _runs(self, conn: sqlite3.Connection, group: str) -> list[Run]:
        """The group's registered runs, oldest first (each opened once per process)."""
        for _attempt in range(3):
            names = self._run_files(conn, group)
            cached = self._group_runs.get(group)
            if cached is not None and cached[0] == names:
                return cached[1]
            opened = dict(zip(*cached, strict=True)) if cached is not None else {}
            try:  # runs merged away are dropped with the old list (their files are deleted)
                runs = [opened.get(n) or Run(self.runs_dir / n) for n in names]
            except FileNotFoundError:  # merged by another process meanwhile: list again
                continue
            self._group_runs[group] = (names, runs)
            return runs
        raise StoreUnavailable(f"the run files of group '{group}' under {self.runs_dir} keep vanishing",
                               hint="Another process is merging them; retry, or check the directory.")

    def _sweep(self, group: str) -> None:
        """Remove run files that killed writers left unregistered."""
        directory = self.runs_dir / group
        if not directory.is_dir():
            return
        known = set(self._run_files(self._conn(), group))
        for path in directory.glob("run-*-*.arrow"):
            pid = path.name.split("-")[1]
            if f"{group}/{path.name}" in known or not pid.isdigit() or pid_alive(int(pid)):
                continue
            remove_run(path)

    def get(self, group: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        conn = self._conn()
        runs, tree = self._runs(conn, group), self._get_tree(conn, group, ids)
        if not runs:
            return {i: orjson.loads(d) for i, (_, d) in tree.items()}
        return _newest(tree, runs, list(ids))

    def _get_tree(self, conn: sqlite3.Connection, group: str, ids: Sequence[str]) -> dict[str, tuple[int, str]]:
        if len(ids) == 1:
            row = execute_retrying(
                conn, "SELECT ts, data FROM online_records WHERE grp = ? AND id = ?", group, ids[0]
            ).fetchone()
            return {ids[0]: (row[0], row[1])} if row else {}
        out: dict[str, tuple[int, str]] = {}
        for start in range(0, len(ids), _CHUNK):
            part = list(ids[start : start + _CHUNK])
            marks = ",".join("?" * len(part))
            query = f"SELECT id, ts, data FROM online_records WHERE grp = ? AND id IN ({marks})"
            out.update((i, (ts, d)) for i, ts, d in execute_retrying(conn, query, group, *part).fetchall())
        return out

    def delete_group(self, group: str) -> None:
        import shutil

        conn = self._conn()
        execute_retrying(conn, "DELETE FROM online_records WHERE grp = ?", group)
        execute_retrying(conn, "DELETE FROM online_runs WHERE grp = ?", group)
        execute_retrying(conn, "DELETE FROM online_spool WHERE grp = ?", group)
        self._group_runs.pop(group, None)
        shutil.rmtree(self.runs_dir / group, ignore_errors=True)

    def close(self) -> None:
        self._db.close()


def _newest(tree: dict[str, tuple[int, str]], runs: list[Run], ids: list[str]) -> dict[str, dict[str, Any]]:
    """Per id the newest row over the B-tree and the runs (ties: the later run, then the B-tree)."""
    best: dict[str, tuple[int, Run | None, int]] = {i: (ts, None, 0) for i, (ts, _) in tree.items()}
    for run in runs:
        for k, row, stamp in run.lookup(ids):
            current = best.get(ids[k])
            if current is None or stamp >= current[0]:
                best[ids[k]] = (stamp, run, row)
    out: dict[str, dict[str, Any]] = {i: orjson.loads(tree[i][1]) for i, (_, source, _) in best.items()
                                      if source is None}
    by_run: dict[int, tuple[Run, list[str], list[int]]] = {}
    for ident, (_, source, row) in best.items():
        if source is not None:
            entry = by_run.setdefault(id(source), (source, [], []))
            entry[1].append(ident)
            entry[2].append(row)
    for run, idents, rows in by_run.values():
        out.update(zip(idents, run.rows(rows), strict=True))
    return out
