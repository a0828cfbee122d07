"""A run's files: `<name>.arrow` (rows), `<name>.keys.npy`, `<name>.ts.npy`; writing one."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

RUN_ROWS = 1 << 20  # rows per run: bounds the memory of sorting one (~100-300 MB)
SUFFIXES = (".arrow", ".keys.npy", ".ts.npy")


def run_paths(path: Path) -> list[Path]:
    """The files of the run whose rows are in `path` (`<name>.arrow`)."""
    stem = str(path)[: -len(".arrow")]
    return [Path(stem + suffix) for suffix in SUFFIXES]


def remove_run(path: Path) -> None:
    """Delete every file of the run whose rows are in `path` (those that exist)."""
    for part in run_paths(path):
        part.unlink(missing_ok=True)


class RunOutput:
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
        remove_run(self.path)


def _sync(sink: Any) -> None:
    sink.flush()
    os.fsync(sink.fileno())
    sink.close()


def read_npy(path: Path, start: int, stop: int) -> tuple[np.ndarray, tuple[int, ...]]:
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
