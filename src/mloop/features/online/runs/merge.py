"""Merging overlapping runs into disjoint ones, with bounded memory."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mloop.features.online.runs import files
from mloop.features.online.runs.files import RunOutput, read_npy, run_paths

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from mloop.features.online.runs.reader import Run

MERGE_STEP_ROWS = 1 << 18  # rows a merge holds at once, over all its inputs


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
    written: list[Path] = []
    out: RunOutput | None = None
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
            out = RunOutput(directory, table.schema)
        out.write(table, all_keys[chosen], all_stamps[chosen])
        for source in sources:
            source.release()
        if out.rows >= files.RUN_ROWS:
            written.append(out.close())
            out = None
    if out is not None:
        written.append(out.close())
    return written


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
        self.n = int(read_npy(self._keys_path, 0, 0)[1][0])
        self.pos = 0

    @property
    def done(self) -> bool:
        return self.pos >= self.n

    def key_at(self, index: int) -> Any:
        return read_npy(self._keys_path, index, index + 1)[0][0]

    def take_through(self, bound: Any, step: int) -> tuple[pa.Table, np.ndarray, np.ndarray]:
        """The rows from the current position whose key is <= bound, and their keys and times."""
        import numpy as np

        stop, chunk, taken = self.pos, step, []
        while stop < self.n:  # read keys in chunks until one exceeds the bound
            keys = read_npy(self._keys_path, stop, min(stop + chunk, self.n))[0]
            inside = int(np.searchsorted(keys, bound, side="right"))
            taken.append(keys[:inside])
            stop += inside
            if inside < len(keys):
                break
            chunk *= 2
        rows = self._table.slice(self.pos, stop - self.pos)
        keys = np.concatenate(taken) if taken else read_npy(self._keys_path, 0, 0)[0]
        stamps = read_npy(self._stamps_path, self.pos, stop)[0]
        self.pos = stop
        return rows, keys, stamps

    def release(self) -> None:
        import mmap

        self._map.madvise(mmap.MADV_DONTNEED)
