"""Reading a registered run: lookups by id, rows as the values a single write's JSON holds."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mloop.features.online.runs.files import run_paths

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa


class Run:
    """A registered run, memory-mapped: lookups by id, rows as the values the B-tree's JSON holds."""

    def __init__(self, path: Path) -> None:
        import numpy as np
        import pyarrow as pa

        self.path = path
        _, keys_path, stamps_path = run_paths(path)
        table = pa.ipc.open_file(pa.memory_map(str(path))).read_all()
        self.keys: np.ndarray = np.load(keys_path, mmap_mode="r")
        self.stamps: np.ndarray = np.load(stamps_path, mmap_mode="r")
        self.int_keys = self.keys.dtype.kind == "i"
        self.low: Any = self.keys[0] if len(self.keys) else None
        self.high: Any = self.keys[-1] if len(self.keys) else None
        batches = self._batches = table.to_batches()
        self._starts = [0]
        for batch in batches:
            self._starts.append(self._starts[-1] + batch.num_rows)
        self._columns = [[(name, _cell_reader(column)) for name, column in zip(batch.schema.names, batch.columns,
                                                                                strict=True)]
                         for batch in batches]

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
    """A column as `_cell_reader` reads its values, all at once; timestamps formatted by numpy
    (Arrow's conversion of tz-aware timestamps to datetime objects costs ~6 us a value)."""
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
        if run.low is not None:
            events += [(run.low, 0), (run.high, 1)]  # at equal keys, starts count before ends
    depth = deepest = 0
    for _, kind in sorted(events):
        depth += 1 if kind == 0 else -1
        deepest = max(deepest, depth)
    return deepest
