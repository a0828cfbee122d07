"""Local filesystem backend: temp file in the store's own `.tmp/`, fsync, then `os.replace`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, BinaryIO

from mloop.errors import ArtifactNotFound
from mloop.store.artifacts.base import local_os_errors


class LocalBackend:
    shared = False  # one machine's folder (unless the user mounted it elsewhere too)

    def __init__(self, root: str) -> None:
        self.root = Path(root)
        with local_os_errors("create the artifact folder", self.root, self.root):
            self.root.mkdir(parents=True, exist_ok=True)

    def staging_dir(self) -> Path:
        path = self.root / ".tmp"
        with local_os_errors("create the staging folder", path, self.root):
            path.mkdir(exist_ok=True)
        return path

    def _path(self, key: str) -> Path:
        return self.root / key

    def put_file(self, local_path: Path, key: str, *, durable: bool = True) -> None:
        target = self._path(key)
        with local_os_errors("write the artifact", target, self.root):
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(local_path, target)  # atomic on one filesystem: staging is inside root
            if durable:
                _fsync_dir(target.parent)

    def open(self, key: str) -> BinaryIO:
        try:
            with local_os_errors("read the artifact", self._path(key), self.root):
                return open(self._path(key), "rb")
        except FileNotFoundError as exc:
            raise ArtifactNotFound(f"artifact {key} not found in {self.root}") from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError as exc:
            raise ArtifactNotFound(f"artifact {key} not found in {self.root}") from exc

    def fs_path(self, key: str) -> str:
        return str(self._path(key))

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def read_path(self, key: str) -> str:
        return str(self._path(key))

    def attach_duckdb(self, con: Any) -> None:
        pass  # DuckDB reads local files itself

    def uri(self, key: str) -> str:
        return self._path(key).resolve().as_uri()

    def delete(self, key: str) -> None:
        with local_os_errors("delete the artifact", self._path(key), self.root):
            self._path(key).unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
