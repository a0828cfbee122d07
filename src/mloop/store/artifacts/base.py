"""The narrow waist every artifact backend implements, and the key layout above it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO, Protocol


class StorageBackend(Protocol):
    """Where bytes live. Keys are relative, `/`-separated paths; `put_file` must be atomic."""

    fs: Any  # the fsspec filesystem (DuckDB and pyarrow read through it)

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
        """The path of `key` inside `fs`."""
        ...

    def uri(self, key: str) -> str: ...

    def delete(self, key: str) -> None: ...


def object_key(digest: str) -> str:
    """Content-addressed layout: objects/sha256/ab/abcdef... (fan-out keeps directories small)."""
    return f"objects/sha256/{digest[:2]}/{digest}"
