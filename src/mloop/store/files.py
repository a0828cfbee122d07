"""Files written whole or not at all: a temp file beside the target, fsync, then `os.replace`.

A reader (another process, or this one after a crash) sees the old file or the new one, never a
half-written one. The temp file sits in the target's own folder because a rename is atomic only
within one filesystem.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path


def atomic_write(path: str | os.PathLike[str], data: bytes | str, *, mode: int | None = None) -> None:
    """Replace `path` with `data` (text is written as UTF-8) in one step.

    `mode` sets the new file's permissions; by default a file that is replaced keeps its own,
    and a new one gets what a plain `open` would give it (0o666 less the umask). On any failure
    the temp file is removed and the exception propagates (the target is left as it was).
    """
    target = Path(path)
    body = data.encode("utf-8") if isinstance(data, str) else data
    if mode is None:
        try:
            found = os.stat(target)
        except (FileNotFoundError, NotADirectoryError):
            pass
        else:
            mode = stat.S_IMODE(found.st_mode) if stat.S_ISREG(found.st_mode) else None
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as for open()
    try:
        with os.fdopen(fd, "wb") as fh:
            if mode is not None:
                os.fchmod(fh.fileno(), mode)
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
