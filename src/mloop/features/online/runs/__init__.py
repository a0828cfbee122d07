"""Sorted runs: how a bulk ingest reaches the SQLite online store without a row-by-row upsert.

Upserting a million rows into SQLite's B-tree costs seconds (3 s for sequential ids here,
50 s for shuffled ones), and an ingest may only publish after its metadata commit, so that
cost used to sit on every ingest's critical path. Instead, as in an LSM tree (RocksDB's
"ingest external file"), an ingest writes its validated rows, sorted by (id, event time), to
immutable files - *runs* - and publishing is registering them: one small SQLite transaction.
A lookup binary-searches each run's keys next to the B-tree lookup of rows written one by one,
and the newest event time wins (`SqliteOnlineStore.get`).

A run is three files: `<name>.arrow` (the rows, Arrow IPC), `<name>.keys.npy` (int64 for
integer ids, fixed-width UTF-8 bytes for string ids) and `<name>.ts.npy` (event times in µs).
All three are memory-mapped, so a reader's memory does not grow with the data: the page cache
holds them once for every process. A run holds at most `RUN_ROWS` rows (what an ingest sorts
in memory at once); `merge` folds overlapping runs into disjoint ones with bounded memory.
"""

from __future__ import annotations

from mloop.features.online.runs.files import remove_run, run_paths
from mloop.features.online.runs.merge import merge
from mloop.features.online.runs.reader import Run, overlap_depth
from mloop.features.online.runs.writer import RunWriter

__all__ = ["Run", "RunWriter", "merge", "overlap_depth", "remove_run", "run_paths"]
