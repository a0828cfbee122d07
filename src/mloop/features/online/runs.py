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

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mloop.features.schema import ROW_COLUMN

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from mloop.features.schema import FeatureGroupSpec

RUN_ROWS = 1 << 20  # rows per run: bounds the memory of sorting one (~100-300 MB)
MERGE_STEP_ROWS = 1 << 18  # rows a merge holds at once, over all its inputs
SUFFIXES = (".arrow", ".keys.npy", ".ts.npy")


def run_paths(path: Path) -> list[Path]:
    """The files of the run whose rows are in `path` (`<name>.arrow`)."""
    stem = str(path)[: -len(".arrow")]
    return [Path(stem + suffix) for suffix in SUFFIXES]


class _Output:
    """One run being written: rows appended in key order, keys and times kept for the .npy files."""

    def __init__(self, directory: Path, schema: pa.Schema) -> None:
        import pyarrow as pa

        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"run-{os.getpid()}-{os.urandom(6).hex()}.arrow"
        self._sink = pa.OSFile(str(self.path), "wb")
        self._writer = pa.ipc.new_file(self._sink, schema)
        self._keys: list[np.ndarray] = []
        self._stamps: list[np.ndarray] = []
        self.rows = 0
        self.last: tuple[Any, int] | None = None  # (key, time) of the last row written

    def write(self, table: pa.Table, keys: np.ndarray, stamps: np.ndarray) -> None:
        self._writer.write_table(table)  # few, large batches: a read takes once per batch it hits
        self._keys.append(keys)
        self._stamps.append(stamps)
        self.rows += table.num_rows
        self.last = (keys[-1], int(stamps[-1]))

    def close(self) -> Path:
        """Finish the three files and fsync them: a registered run must survive what the
        metadata commit that follows survives."""
        import numpy as np

        self._writer.close()
        _sync(self._sink)
        _, keys_path, stamps_path = run_paths(self.path)
        for target, parts in ((keys_path, self._keys), (stamps_path, self._stamps)):
            with open(target, "wb") as fh:
                np.save(fh, np.concatenate(parts))
                fh.flush()
                os.fsync(fh.fileno())
        return self.path

    def abandon(self) -> None:
        self._writer.close()
        self._sink.close()
        for path in run_paths(self.path):
            path.unlink(missing_ok=True)


def _sync(sink: Any) -> None:
    sink.flush()
    os.fsync(sink.fileno())
    sink.close()


class RunWriter:
    """Turns validated blocks into sorted runs in `directory`.

    Input that already arrives in (id, event time) order - files exported by id, as most are -
    is streamed to the run block by block. A block out of order closes the streamed run and
    starts one that is collected in memory (up to `RUN_ROWS` rows) and sorted when sealed.
    """

    def __init__(self, spec: FeatureGroupSpec, directory: Path) -> None:
        self.spec = spec
        self.directory = directory
        self.run_rows = RUN_ROWS
        self.files: list[Path] = []
        self._blocks: list[tuple[pa.Table, np.ndarray, np.ndarray]] = []  # run being collected
        self._collected = 0
        self._stream: _Output | None = None

    def add(self, table: pa.Table) -> None:
        """Add a validated block (the group's columns; row numbers are dropped)."""
        if ROW_COLUMN in table.column_names:
            table = table.drop_columns([ROW_COLUMN])
        if not table.num_rows:
            return
        table = table.combine_chunks()
        keys, stamps = _keys(table.column(self.spec.record_identifier)), _stamps(table.column(self.spec.event_time))
        ordered = _in_order(keys, stamps)
        last = self._stream.last if self._stream is not None else None
        if last is not None and not (ordered and (keys[0], int(stamps[0])) >= last):
            self._close_stream()
        if ordered and not self._blocks:
            if self._stream is None:
                self._stream = _Output(self.directory, table.schema)
            self._stream.write(table, keys, stamps)
            if self._stream.rows >= self.run_rows:
                self._close_stream()
        else:
            self._blocks.append((table, keys, stamps))
            self._collected += table.num_rows
            if self._collected >= self.run_rows:
                self._seal_collected()

    def finish(self) -> list[Path]:
        """Close the last run; every file is fsynced, ready to register."""
        if self._stream is not None:
            self._close_stream()
        if self._blocks:
            self._seal_collected()
        return self.files

    def discard(self) -> None:
        """Remove the runs written so far (an ingest that failed or was not committed)."""
        self._blocks.clear()
        if self._stream is not None:
            self._stream.abandon()
            self._stream = None
        for path in self.files:
            for part in run_paths(path):
                part.unlink(missing_ok=True)
        self.files.clear()

    def _close_stream(self) -> None:
        assert self._stream is not None
        self.files.append(self._stream.close())
        self._stream = None

    def _seal_collected(self) -> None:
        import numpy as np
        import pyarrow as pa

        table = pa.concat_tables([b[0] for b in self._blocks])
        keys = np.concatenate([b[1] for b in self._blocks])
        stamps = np.concatenate([b[2] for b in self._blocks])
        self._blocks, self._collected = [], 0
        order = np.lexsort((stamps, keys))  # stable: for equal (id, time) the later row stays later
        out = _Output(self.directory, table.schema)
        out.write(table.take(pa.array(order)).combine_chunks(), keys[order], stamps[order])
        self.files.append(out.close())


def _keys(ids: pa.ChunkedArray) -> np.ndarray:
    """Sortable numpy keys: int64 for integer ids, fixed-width bytes for strings."""
    import pyarrow as pa

    if pa.types.is_integer(ids.type):
        return ids.cast(pa.int64()).to_numpy()
    return ids.cast(pa.binary()).to_numpy().astype(bytes)


def _stamps(times: pa.ChunkedArray) -> np.ndarray:
    import pyarrow as pa

    return times.cast(pa.int64()).to_numpy()


def _in_order(keys: np.ndarray, stamps: np.ndarray) -> bool:
    """Whether rows are sorted by (key, time)."""
    import numpy as np

    if len(keys) < 2:
        return True
    step_up, same = keys[1:] > keys[:-1], keys[1:] == keys[:-1]
    return bool(np.all(step_up | (same & (stamps[1:] >= stamps[:-1]))))


def merge(runs: Sequence[Run], directory: Path) -> list[Path]:
    """Merge runs (oldest first) into disjoint runs holding only each id's winning row.

    The winner is the newest event time, at equal times the later run's (the row a read
    would have returned). Reads the inputs front to back in key ranges of about
    `MERGE_STEP_ROWS` rows in all, so memory stays bounded whatever their size.
    """
    import numpy as np
    import pyarrow as pa

    sources = [_Source(run.path) for run in runs]
    step = max(MERGE_STEP_ROWS // max(len(sources), 1), 1)
    files: list[Path] = []
    out: _Output | None = None
    while True:
        live = [r for r, src in enumerate(sources) if not src.done]
        if not live:
            break
        bound = min(sources[r].key_at(min(sources[r].pos + step, sources[r].n) - 1) for r in live)
        parts, keys, stamps, origin = [], [], [], []
        for r in live:
            rows, run_keys, run_stamps = sources[r].take_through(bound, step)
            parts.append(rows)
            keys.append(run_keys)
            stamps.append(run_stamps)
            origin.append(np.full(len(run_keys), r))
        all_keys, all_stamps = np.concatenate(keys), np.concatenate(stamps)
        order = np.lexsort((np.concatenate(origin), all_stamps, all_keys))
        last = np.ones(len(order), dtype=bool)  # the last row of each key in that order wins
        last[:-1] = all_keys[order][1:] != all_keys[order][:-1]
        chosen = order[last]
        table = pa.concat_tables(parts).take(pa.array(chosen))
        if out is None:
            out = _Output(directory, table.schema)
        out.write(table, all_keys[chosen], all_stamps[chosen])
        for source in sources:
            source.release()
        if out.rows >= RUN_ROWS:
            files.append(out.close())
            out = None
    if out is not None:
        files.append(out.close())
    return files


class _Source:
    """A run read front to back by a merge: rows are zero-copy slices of the run's memory map,
    whose pages `release` drops from this process after each key range (they stay in the page
    cache), so what a merge has touched does not pile up in its memory."""

    def __init__(self, path: Path) -> None:
        import mmap

        import pyarrow as pa

        _, self._keys_path, self._stamps_path = run_paths(path)
        with open(path, "rb") as fh:
            self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        self._table = pa.ipc.open_file(pa.BufferReader(pa.py_buffer(self._map))).read_all()
        self.n = int(_npy(self._keys_path, 0, 0)[1][0])
        self.pos = 0

    @property
    def done(self) -> bool:
        return self.pos >= self.n

    def key_at(self, index: int) -> Any:
        return _npy(self._keys_path, index, index + 1)[0][0]

    def take_through(self, bound: Any, step: int) -> tuple[pa.Table, np.ndarray, np.ndarray]:
        """The rows from the current position whose key is <= bound, and their keys and times."""
        import numpy as np

        stop, chunk = self.pos, step
        while stop < self.n:  # read keys in chunks until one exceeds the bound
            keys = _npy(self._keys_path, stop, min(stop + chunk, self.n))[0]
            inside = int(np.searchsorted(keys, bound, side="right"))
            stop += inside
            if inside < len(keys):
                break
            chunk *= 2
        rows = self._table.slice(self.pos, stop - self.pos)
        keys = _npy(self._keys_path, self.pos, stop)[0]
        stamps = _npy(self._stamps_path, self.pos, stop)[0]
        self.pos = stop
        return rows, keys, stamps

    def release(self) -> None:
        import mmap

        self._map.madvise(mmap.MADV_DONTNEED)


def _npy(path: Path, start: int, stop: int) -> tuple[np.ndarray, tuple[int, ...]]:
    """Elements start..stop of a 1-d .npy file, read (not mapped), and the array's shape."""
    import numpy as np

    with open(path, "rb") as fh:
        version = np.lib.format.read_magic(fh)
        shape, _, dtype = (np.lib.format.read_array_header_1_0(fh) if version == (1, 0)
                           else np.lib.format.read_array_header_2_0(fh))
        stop = min(stop, shape[0])
        fh.seek(start * dtype.itemsize, os.SEEK_CUR)
        data = np.fromfile(fh, dtype=dtype, count=max(stop - start, 0))
    return data, shape


class Run:
    """A registered run, memory-mapped: lookups by id, rows as the values the B-tree's JSON holds."""

    def __init__(self, path: Path) -> None:
        import numpy as np
        import pyarrow as pa

        self.path = path
        _, keys_path, stamps_path = run_paths(path)
        self.table = pa.ipc.open_file(pa.memory_map(str(path))).read_all()
        self.keys: np.ndarray = np.load(keys_path, mmap_mode="r")
        self.stamps: np.ndarray = np.load(stamps_path, mmap_mode="r")
        self.int_keys = self.keys.dtype.kind == "i"
        self.low: Any = self.keys[0] if len(self.keys) else None
        self.high: Any = self.keys[-1] if len(self.keys) else None
        batches = self._batches = self.table.to_batches()
        self._starts = [0]
        for batch in batches:
            self._starts.append(self._starts[-1] + batch.num_rows)
        self._columns = [[(name, _cell_reader(column)) for name, column in zip(batch.schema.names, batch.columns,
                                                                                strict=True)]
                         for batch in batches]

    def key_range(self) -> tuple[Any, Any] | None:
        return (self.low, self.high) if self.low is not None else None

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
            if key is None or self.low is None or not self.low <= key <= self.high:
                return []  # merged runs are disjoint: most of a big group's runs end here
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

        located = [(bisect.bisect_right(self._starts, index) - 1, index) for index in indices]
        if len(indices) <= 4:  # a few scalars beat building a taken table (~12 vs ~60 µs a row)
            return [{name: read(index - self._starts[part]) for name, read in self._columns[part]}
                    for part, index in located]
        rows: list[dict[str, Any]] = [{} for _ in indices]
        by_batch: dict[int, list[int]] = {}
        for position, (part, _) in enumerate(located):
            by_batch.setdefault(part, []).append(position)
        for part, positions in by_batch.items():  # take per batch: a chunked take copies every chunk
            local = [located[k][1] - self._starts[part] for k in positions]
            taken = self._batches[part].take(pa.array(local, pa.int64()))
            names = taken.schema.names
            columns = [_values(column) for column in taken.columns]
            for k, values in zip(positions, zip(*columns, strict=True), strict=True):
                rows[k] = dict(zip(names, values, strict=True))
        return rows


def _values(column: pa.Array) -> list[Any]:
    """A column as `_plain` values; timestamps formatted by numpy (Arrow's conversion of
    tz-aware timestamps to datetime objects costs ~6 us a value)."""
    import math

    import numpy as np
    import pyarrow as pa

    if pa.types.is_floating(column.type):
        return [None if v is not None and not math.isfinite(v) else v for v in column.to_pylist()]
    if not pa.types.is_timestamp(column.type):
        return column.to_pylist()
    micros = column.view(pa.int64())  # a view, not a cast: compute kernels cost ~10 µs a call
    if column.null_count:
        micros = micros.fill_null(0)
    text = np.datetime_as_string(micros.to_numpy().astype("datetime64[us]"), unit="us").tolist()
    if not column.null_count:
        return [f"{t}+00:00" for t in text]
    nulls = column.is_null().to_numpy(zero_copy_only=False).tolist()
    return [None if null else f"{t}+00:00" for t, null in zip(text, nulls, strict=True)]


def _cell_reader(column: pa.Array) -> Callable[[int], Any]:
    """Reads one value of a column as JSON would give it back: timestamps as ISO text (from
    their integer µs: Arrow's tz-aware datetime conversion costs ~3 µs), NaN and infinities
    as None."""
    import math
    from datetime import UTC, datetime, timedelta

    import pyarrow as pa

    if pa.types.is_timestamp(column.type):
        micros, epoch = column.view(pa.int64()), datetime(1970, 1, 1, tzinfo=UTC)

        def timestamp(at: int) -> Any:
            value = micros[at].as_py()
            return None if value is None else (epoch + timedelta(microseconds=value)).isoformat(
                timespec="microseconds")
        return timestamp
    if pa.types.is_floating(column.type):
        def number(at: int) -> Any:
            value = column[at].as_py()
            return None if value is None or not math.isfinite(value) else value
        return number
    return lambda at: column[at].as_py()


def overlap_depth(runs: Sequence[Run]) -> int:
    """The most runs whose key ranges cover one key (what a lookup may have to search)."""
    events = []
    for run in runs:
        span = run.key_range()
        if span is not None:
            events += [(span[0], 0), (span[1], 1)]  # at equal keys, starts count before ends
    depth = deepest = 0
    for _, kind in sorted(events):
        depth += 1 if kind == 0 else -1
        deepest = max(deepest, depth)
    return deepest
