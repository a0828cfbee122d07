"""The digest of a directory tree (a model version's files), so a copy can be checked against it."""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from pathlib import Path

CHUNK = 1024 * 1024


def tree_digest(root: Path, skip: Collection[str] = ()) -> str:
    """sha256 over every file under `root`: its relative path and its content's sha256, sorted.

    Renaming, adding, removing or changing a single byte of any file changes the digest; where
    the tree sits does not. `skip`: relative paths that are not part of the content (files a
    downloader writes next to it).
    """
    outer = hashlib.sha256()
    files = sorted(p for p in Path(root).rglob("*") if p.is_file() and p.relative_to(root).as_posix() not in skip)
    for path in files:
        inner = hashlib.sha256()
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                inner.update(chunk)
        outer.update(path.relative_to(root).as_posix().encode() + b"\0" + inner.hexdigest().encode() + b"\n")
    return outer.hexdigest()
