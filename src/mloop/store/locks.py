"""Coordination between processes on one host: an exclusive `flock` of a sidecar file (whether
the process that holds something is still alive: `store.leases`).

The lock is used where a short critical section must not run twice at once (first migration of
a SQLite database, a spool flush, a feedback check-and-write); the kernel drops it when its
holder dies, so a killed process never leaves it held.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def file_lock(path: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created, with its folder, if missing) for the block.

    With `timeout`, wait at most that many seconds for it, then raise `TimeoutError` (a
    background helper must not wait forever behind a stuck holder).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        if timeout is None:
            fcntl.flock(fh, fcntl.LOCK_EX)
        else:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise TimeoutError(f"{path} stayed locked for {timeout:g} s") from None
                    time.sleep(0.05)  # flock has no timed wait; poll until the deadline
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)

