"""Sorted runs: how a bulk ingest reaches the SQLite online store without a row-by-row upsert.

Upserting a million rows into SQLite's B-tree costs seconds (3 s for sequential ids here,
50 s for shuffled ones), and an ingest may only publish after its metadata commit, so that
cost used to sit on every ingest's critical path. Instead, as in an LSM tree (RocksDB's
"ingest external file"), an ingest writes its validated rows, sorted by (id, event time), to
immutable Arrow IPC files - *runs* - and publishing is registering them: one small SQLite
transaction. A lookup binary-searches each run's memory-mapped key column (zero-copy, shared
by every process through the page cache) next to the B-tree lookup of rows written one by one,
and the newest event time wins (`SqliteOnlineStore.get`).

A run holds at most `RUN_ROWS` rows (the memory an ingest needs to sort one). Keys are int64
for integer ids and UTF-8 bytes for string ids; a reader holds each run's keys (as int64 or
fixed-width bytes, so numpy's `searchsorted` does the search) and times in memory: 16 bytes per
row for integer ids.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mloop.features.schema import ROW_COLUMN

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from mloop.features.schema import FeatureGroupSpec

RUN_ROWS = 1 << 20  # rows per collected run: bounds the memory of sorting one (~100-300 MB)
KEY = "_mloop_key"
TS = "_mloop_ts"


class RunWriter:
    """Turns validated blocks into sorted run files in `directory`.

    Input that already arrives in (id, event time) order - files exported by id, as most are -
    is streamed to the run file block by block. A block out of order closes the streamed run
    and starts one that is collected in memory (up to `run_rows` rows) and sorted when sealed.
    """

    def __init__(self, spec: FeatureGroupSpec, directory: Path) -> None:
        self.spec = spec
        self.directory = directory
        self.run_rows = RUN_ROWS
        self.files: list[Path] = []
        self._blocks: list[tuple[pa.Table, np.ndarray, np.ndarray]] = []  # run being collected
        self._stream: Any = None  # (file, IPC writer) of the run being streamed
        self._last: tuple[Any, int] | None = None  # (key, time) of the streamed run's last row
        self._rows = 0

    def add(self, table: pa.Table) -> None:
        """Add a validated block (the group's columns; row numbers are dropped)."""
        import pyarrow as pa

        if ROW_COLUMN in table.column_names:
            table = table.drop_columns([ROW_COLUMN])
        if not table.num_rows:
            return
        table = table.combine_chunks()
        keys = _keys(table.column(self.spec.record_identifier).chunk(0))
        stamps = table.column(self.spec.event_time).chunk(0).cast(pa.int64()).to_numpy(zero_copy_only=False)
        ordered = _in_order(keys, stamps)
        if self._last is not None and not (ordered and (keys[0], int(stamps[0])) >= self._last):
            self._close_stream()
        if ordered and not self._blocks:
            self._write_streamed(table, keys, stamps)
        else:
            self._blocks.append((table, keys, stamps))
            self._rows += table.num_rows
        if self._rows >= self.run_rows and self._stream is not None:
            self._close_stream()
        elif self._rows >= self.run_rows:
            self._seal_collected()

    def finish(self) -> list[Path]:
        """Close the last run; every file is fsynced, ready to register."""
        if self._stream is not None:
            self._close_stream()
        if self._blocks:
            self._seal_collected()
        return self.files

    def discard(self) -> None:
        """Remove the files written so far (an ingest that failed or was not committed)."""
        self._blocks.clear()
        if self._stream is not None:
            self._stream[1].close()
            self._stream[0].close()
            self.files.append(self._stream[2])
            self._stream = None
        for path in self.files:
            path.unlink(missing_ok=True)
        self.files.clear()

    def _open(self, schema: pa.Schema) -> Any:
        import pyarrow as pa

        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"run-{os.getpid()}-{os.urandom(6).hex()}.arrow"
        sink = pa.OSFile(str(path), "wb")
        return sink, pa.ipc.new_file(sink, schema), path

    def _write_streamed(self, table: pa.Table, keys: np.ndarray, stamps: np.ndarray) -> None:
        table = _with_keys(table, self.spec.record_identifier, keys, stamps)
        if self._stream is None:
            self._stream = self._open(table.schema)
        self._stream[1].write_table(table, max_chunksize=max(table.num_rows, 1))
        self._last = (keys[-1], int(stamps[-1]))
        self._rows += table.num_rows

    def _close_stream(self) -> None:
        sink, writer, path = self._stream
        self._stream, self._last, self._rows = None, None, sum(b[0].num_rows for b in self._blocks)
        writer.close()
        _sync_close(sink)
        self.files.append(path)

    def _seal_collected(self) -> None:
        import numpy as np
        import pyarrow as pa

        table = pa.concat_tables([b[0] for b in self._blocks])
        keys = np.concatenate([b[1] for b in self._blocks])
        stamps = np.concatenate([b[2] for b in self._blocks])
        self._blocks, self._rows = [], 0
        order = np.lexsort((stamps, keys))  # stable: for equal (id, time) the later row stays later
        table = _with_keys(table.take(pa.array(order)), self.spec.record_identifier, keys[order], stamps[order])
        sink, writer, path = self._open(table.schema)
        writer.write_table(table)
        writer.close()
        _sync_close(sink)
        self.files.append(path)


def _in_order(keys: np.ndarray, stamps: np.ndarray) -> bool:
    """Whether rows are sorted by (key, time)."""
    import numpy as np

    if len(keys) < 2:
        return True
    step_up, same = keys[1:] > keys[:-1], keys[1:] == keys[:-1]
    return bool(np.all(step_up | (same & (stamps[1:] >= stamps[:-1]))))


def _with_keys(table: pa.Table, ident: str, keys: np.ndarray, stamps: np.ndarray) -> pa.Table:
    """The block with its sort key (int64, or the id's UTF-8 bytes) and event time in µs."""
    import pyarrow as pa

    key = pa.array(keys) if keys.dtype.kind == "i" else table.column(ident).cast(pa.binary())
    return table.append_column(KEY, key).append_column(TS, pa.array(stamps))


def _sync_close(sink: Any) -> None:
    """Flush a run file to disk: registered runs must survive what the metadata commit does."""
    sink.flush()
    os.fsync(sink.fileno())
    sink.close()


def _keys(ids: pa.Array) -> np.ndarray:
    """Sortable numpy keys: int64 for integer ids, fixed-width bytes for strings."""
    import pyarrow as pa

    if pa.types.is_integer(ids.type):
        return ids.cast(pa.int64()).to_numpy(zero_copy_only=False)
    return ids.cast(pa.binary()).to_numpy(zero_copy_only=False).astype(bytes)


def _key_view(chunk: pa.Array) -> np.ndarray:
    """A key chunk as numpy: int64 without copying, string ids as fixed-width bytes."""
    import pyarrow as pa

    if pa.types.is_integer(chunk.type):
        return chunk.to_numpy()
    return chunk.to_numpy(zero_copy_only=False).astype(bytes)


class Run:
    """A memory-mapped run file: lookups by id, rows as the values the B-tree's JSON holds."""

    def __init__(self, path: Path) -> None:
        import numpy as np
        import pyarrow as pa

        self.path = path
        table = pa.ipc.open_file(pa.memory_map(str(path))).read_all()
        self.keys: np.ndarray = np.concatenate([_key_view(c) for c in table.column(KEY).chunks] or
                                               [np.empty(0, np.int64)])
        self.stamps: np.ndarray = np.concatenate([c.to_numpy() for c in table.column(TS).chunks] or
                                                 [np.empty(0, np.int64)])
        self.table = table.drop_columns([KEY, TS])
        self.int_keys = self.keys.dtype.kind == "i"
        batches = self.table.to_batches()
        self._starts = [0]
        for batch in batches:
            self._starts.append(self._starts[-1] + batch.num_rows)
        self._columns = [list(zip(batch.schema.names, batch.columns, strict=True)) for batch in batches]

    def _key(self, text: str) -> Any:
        """The key of a text id in this run's key space, or None if it cannot be one."""
        if not self.int_keys:
            raw = text.encode()
            return raw if len(raw) <= self.keys.dtype.itemsize and not raw.endswith(b"\0") else None
        try:
            value = int(text)
        except ValueError:
            return None
        return value if str(value) == text and -(2**63) <= value < 2**63 else None

    def lookup(self, ids: list[str]) -> list[tuple[int, int, int]]:
        """(position in `ids`, row, event time µs) of each id found in this run.

        The last row of an id is its newest (rows are sorted by id, then time, then order).
        """
        import numpy as np

        if len(ids) == 1:  # serving's common case: no array round trip
            key = self._key(ids[0])
            if key is None:
                return []
            row = int(np.searchsorted(self.keys, key, side="right")) - 1
            return [(0, row, int(self.stamps[row]))] if row >= 0 and self.keys[row] == key else []
        positions, wanted = self._keys_of(ids)
        if not len(wanted):
            return []
        at = np.searchsorted(self.keys, wanted, side="right") - 1
        hit = at >= 0
        hit[hit] = self.keys[at[hit]] == wanted[hit]
        found = np.flatnonzero(hit)
        return list(zip(positions[found].tolist(), at[found].tolist(), self.stamps[at[found]].tolist(), strict=True))

    def _keys_of(self, ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(positions, keys) of the ids that can be keys of this run, vectorized when all can."""
        import numpy as np

        if self.int_keys:
            text = np.array(ids)
            try:
                values = text.astype(np.int64)
                if bool(np.all(values.astype(text.dtype) == text)):  # canonical: "5", not "05"
                    return np.arange(len(ids)), values
            except (ValueError, OverflowError):
                pass
        keyed = [(k, key) for k, key in enumerate(map(self._key, ids)) if key is not None]
        return (np.array([k for k, _ in keyed], dtype=np.int64),
                np.array([key for _, key in keyed], dtype=np.int64 if self.int_keys else bytes))

    def id_texts(self, start: int, stop: int) -> list[str]:
        """The ids of rows start..stop as the B-tree stores them (text)."""
        keys = self.keys[start:stop].tolist()
        return [str(k) for k in keys] if self.int_keys else [k.decode() for k in keys]

    def rows(self, indices: list[int]) -> list[dict[str, Any]]:
        """The rows at `indices` as the values a JSON round trip of a single write gives
        (timestamps as ISO 8601 text in UTC, NaN as None)."""
        import bisect

        import pyarrow as pa

        if len(indices) <= 4:  # a few scalars beat building a taken table (~12 vs ~60 µs a row)
            rows = []
            for index in indices:
                part = bisect.bisect_right(self._starts, index) - 1
                at = index - self._starts[part]
                rows.append({name: _plain(column[at].as_py()) for name, column in self._columns[part]})
        else:  # column by column: Arrow formats the timestamps, Python builds no datetimes
            taken = self.table.take(pa.array(indices, pa.int64()))
            names = taken.column_names  # a property that builds a new list on every access
            columns = [_values(column) for column in taken.columns]
            rows = [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
        return rows


def _values(column: pa.ChunkedArray) -> list[Any]:
    """A column as `_plain` values; timestamps formatted by numpy (Arrow's conversion of
    tz-aware timestamps to datetime objects costs ~6 us a value)."""
    import math

    import numpy as np
    import pyarrow as pa

    if pa.types.is_floating(column.type):
        return [None if v is not None and not math.isfinite(v) else v for v in column.to_pylist()]
    if not pa.types.is_timestamp(column.type):
        return column.to_pylist()
    micros = column.cast(pa.int64())
    text = np.datetime_as_string(micros.fill_null(0).to_numpy().astype("datetime64[us]"), unit="us").tolist()
    if not column.null_count:
        return [f"{t}+00:00" for t in text]
    nulls = column.is_null().to_numpy(zero_copy_only=False).tolist()
    return [None if null else f"{t}+00:00" for t, null in zip(text, nulls, strict=True)]


def _plain(value: Any) -> Any:
    """A value as JSON would give it back: datetimes as ISO text, NaN and infinities as None."""
    import math
    from datetime import datetime

    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
