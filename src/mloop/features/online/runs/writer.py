"""Validated blocks in, sorted runs out (streamed when the input is in order, else sorted)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mloop.features.online.runs import files
from mloop.features.online.runs.files import RunOutput, remove_run
from mloop.features.schema import ROW_COLUMN

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from mloop.features.schema import FeatureGroupSpec


class RunWriter:
    """Turns validated blocks into sorted runs in `directory`.

    Input that already arrives in (id, event time) order - files exported by id, as most are -
    is streamed to the run block by block. A block out of order closes the streamed run and
    starts one that is collected in memory (up to `files.RUN_ROWS` rows) and sorted when sealed.
    """

    def __init__(self, spec: FeatureGroupSpec, directory: Path) -> None:
        self.spec = spec
        self.directory = directory
        self.files: list[Path] = []
        self._blocks: list[tuple[pa.Table, np.ndarray, np.ndarray]] = []  # run being collected
        self._collected = 0
        self._stream: RunOutput | None = None

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
                self._stream = RunOutput(self.directory, table.schema)
            self._stream.write(table, keys, stamps)
            if self._stream.rows >= files.RUN_ROWS:
                self._close_stream()
        else:
            self._blocks.append((table, keys, stamps))
            self._collected += table.num_rows
            if self._collected >= files.RUN_ROWS:
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
            remove_run(path)
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
        out = RunOutput(self.directory, table.schema)
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
