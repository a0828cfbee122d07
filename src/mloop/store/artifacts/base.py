"""The narrow waist every artifact backend implements, and the key layout above it."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from mloop.errors import StoreAccessDenied, StoreUnavailable


class StorageBackend(Protocol):
    """Where bytes live. Keys are relative, `/`-separated paths; `put_file` must be atomic.

    A backend also answers what callers above the store would otherwise improvise from the URL
    scheme: whether other machines see its objects (`shared`), a local path when there is one,
    the path DuckDB reads, and how to let a DuckDB connection read it (`attach_duckdb`).
    """

    shared: bool  # other machines (pods, KFP tasks) see the same objects

    def staging_dir(self) -> Path:
        """A local directory for temp files that `put_file` can move from cheaply."""
        ...

    def put_file(self, local_path: Path, key: str, *, durable: bool = True) -> None:
        """Move or upload `local_path` to `key`; readers see all of it or nothing. `durable`: the
        new name also survives a power failure once this returns (local: fsync of the directory)."""
        ...

    def open(self, key: str) -> BinaryIO: ...

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int: ...

    def fs_path(self, key: str) -> str:
        """The path of `key` inside the backend's fsspec filesystem."""
        ...

    def local_path(self, key: str) -> Path | None:
        """The object's file on this machine, or None when it lives elsewhere (download it)."""
        ...

    def read_path(self, key: str) -> str:
        """The path or URL DuckDB and pyarrow read the object by (after `attach_duckdb`)."""
        ...

    def attach_duckdb(self, con: Any) -> None:
        """Let the DuckDB connection `con` read `read_path`s (a no-op for local files)."""
        ...

    def uri(self, key: str) -> str: ...

    def delete(self, key: str) -> None: ...


def object_key(digest: str) -> str:
    """Content-addressed layout: objects/sha256/ab/abcdef... (fan-out keeps directories small)."""
    return f"objects/sha256/{digest[:2]}/{digest}"


@contextmanager
def local_os_errors(operation: str, path: Path | str, root: Path | str) -> Iterator[None]:
    """Translate the OS's refusals on a local folder into errors that name the fix.

    Told apart by exception type and errno (never by message text): a folder the user cannot
    write (`PermissionError`), a read-only filesystem (EROFS), a full disk (ENOSPC).
    """
    try:
        yield
    except PermissionError as exc:
        raise StoreAccessDenied(
            f"cannot {operation} {path}: permission denied",
            hint=f"mloop needs read and write permission on the artifact folder {root} "
            f"(e.g. `chmod -R u+rwX {root}`), or set artifact_root to a writable folder.",
        ) from exc
    except OSError as exc:
        if exc.errno == errno.EROFS:
            raise StoreAccessDenied(
                f"cannot {operation} {path}: the filesystem is read-only",
                hint=f"Remount it read-write or set artifact_root to a writable folder (now {root}).",
            ) from exc
        if exc.errno == errno.ENOSPC:
            raise StoreUnavailable(f"cannot {operation} {path}: no space left on the device",
                                   hint="Free disk space (`mloop gc` removes unused artifacts).") from exc
        raise
