"""Content-addressed artifact store over a pluggable backend (local files or S3).

`put` streams bytes, a file or a stream into a staging file while hashing it (sha256), then
hands the finished file to the backend atomically under `objects/sha256/ab/<digest>`: the same
content is stored once, a killed writer leaves nothing visible, and a 2 GB file never sits in
memory. Backends are chosen once, by URL scheme.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from mloop.errors import ArtifactNotFound, ConfigError, IntegrityError
from mloop.store.artifacts.base import StorageBackend, local_os_errors, object_key
from mloop.store.artifacts.local import LocalBackend
from mloop.store.artifacts.s3 import S3Backend

CHUNK = 8 * 1024 * 1024

__all__ = ["ArtifactStore", "StorageBackend", "open_backend", "storage_options"]


def _s3(root: str, s3_endpoint_url: str | None) -> StorageBackend:
    return S3Backend(root, s3_endpoint_url)


def _local(root: str, _s3_endpoint_url: str | None) -> StorageBackend:
    return LocalBackend(root.removeprefix("file://"))


# The one place a URL scheme picks a backend (imported lazily: s3fs only for s3://).
SCHEMES: dict[str, Callable[[str, str | None], StorageBackend]] = {"s3": _s3, "file": _local}


def open_backend(root: str, s3_endpoint_url: str | None = None) -> StorageBackend:
    """The backend for `root`, chosen by URL scheme from `SCHEMES` (a plain path is a folder).

    Raises:
        ConfigError: a scheme no backend serves.
    """
    scheme, sep, _ = root.partition("://")
    factory = SCHEMES.get(scheme if sep else "file")
    if factory is None:
        raise ConfigError(f"artifact_root '{root}' has an unknown scheme '{scheme}'",
                          hint="Use a folder path, file:///path or s3://bucket/prefix.")
    return factory(root, s3_endpoint_url)


def storage_options(url: str, s3_endpoint_url: str | None) -> dict[str, Any]:
    """The `storage_options` pandas (fsspec) needs to read `url` the way the artifact store
    reads S3: mloop's `s3_endpoint_url` for an s3:// URL (MinIO, moto); nothing otherwise."""
    if url.startswith("s3://") and s3_endpoint_url:
        return {"client_kwargs": {"endpoint_url": s3_endpoint_url}}
    return {}


class ArtifactStore:
    """Content-addressed bytes: `put` returns a sha256 digest, everything else takes one."""

    def __init__(self, backend: StorageBackend) -> None:
        self._backend = backend  # private: callers ask the store, never look at its backend

    @property
    def is_shared(self) -> bool:
        """Whether other machines (pods, KFP tasks) see these artifacts (S3: yes; a folder: no)."""
        return self._backend.shared

    def local_path(self, digest: str) -> Path | None:
        """The artifact's file on this machine (read it in place), or None: `download` it."""
        return self._backend.local_path(object_key(_check(digest)))

    def read_path(self, digest: str) -> str:
        """The path or URL DuckDB and pyarrow read the artifact by, after `attach_duckdb`."""
        return self._backend.read_path(object_key(_check(digest)))

    def attach_duckdb(self, con: Any) -> None:
        """Let the DuckDB connection `con` read this store's `read_path`s (S3: with mloop's
        credentials and endpoint; local files: nothing to do)."""
        self._backend.attach_duckdb(con)

    def put(self, data: bytes | str | Path | BinaryIO, *, durable: bool = True) -> str:
        """Store `data` (bytes, a file path, or a binary stream) and return its sha256 digest.

        Content already stored is not rewritten, unless the stored bytes no longer hash to the
        digest (a damaged object): then it is replaced, so re-running whatever wrote it heals
        the store instead of failing on the same corrupt object forever. A new object's bytes are
        always fsynced before it becomes visible under its name (readers never see a torn
        object). `durable=False` skips the fsync of its directory entry: after a power failure
        (not a process crash) the object may be missing, never partial. Only for outputs that
        can be recomputed and whose readers verify them (pipeline step outputs: the cache and
        `retry` re-hash before reuse); acknowledged user data keeps the default.

        Raises:
            ArtifactNotFound: `data` is a path that does not exist.
            StoreUnavailable: the backend cannot be reached.
        """
        if isinstance(data, bytes | bytearray | memoryview):
            known = hashlib.sha256(data).hexdigest()
            if self._intact(known):
                return known  # small in-memory outputs are often repeats: no temp file, no fsync
        tmp = self.staging_file("put-", ".tmp")
        fd = os.open(tmp, os.O_WRONLY)
        digest = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in _chunks(data):
                    digest.update(chunk)
                    out.write(chunk)
                hexdigest = digest.hexdigest()
                key = object_key(hexdigest)
                duplicate = self._intact(hexdigest)
                if not duplicate:
                    out.flush()
                    os.fsync(out.fileno())
            if duplicate:
                tmp.unlink(missing_ok=True)
            else:
                self._backend.put_file(tmp, key, durable=durable)
            return hexdigest
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _intact(self, digest: str) -> bool:
        """The object exists and still hashes to its digest (a damaged one is to be replaced)."""
        if not self._backend.exists(object_key(digest)):
            return False
        try:
            self.verify(digest)
        except (IntegrityError, ArtifactNotFound):
            return False
        return True

    def staging_file(self, prefix: str, suffix: str) -> Path:
        """A new empty temp file in the backend's staging folder (cheap to `put` from).

        Raises:
            StoreAccessDenied: the staging folder is not writable (named, with the fix).
        """
        staging = self._backend.staging_dir()
        with local_os_errors("create a temp file in", staging, staging):
            fd, name = tempfile.mkstemp(dir=staging, prefix=prefix, suffix=suffix)
        os.close(fd)
        return Path(name)

    def open(self, digest: str) -> BinaryIO:
        """A binary stream of the artifact (read it in chunks for large artifacts)."""
        return self._backend.open(object_key(_check(digest)))

    def get_bytes(self, digest: str) -> bytes:
        with self.open(digest) as fh:
            return fh.read()

    def exists(self, digest: str) -> bool:
        return self._backend.exists(object_key(_check(digest)))

    def size(self, digest: str) -> int:
        return self._backend.size(object_key(_check(digest)))

    def uri(self, digest: str) -> str:
        return self._backend.uri(object_key(_check(digest)))

    def fs_path(self, digest: str) -> str:
        return self._backend.fs_path(object_key(_check(digest)))

    def verify(self, digest: str) -> None:
        """Re-hash the stored bytes.

        Raises:
            ArtifactNotFound: the artifact is gone.
            IntegrityError: its bytes no longer match the digest.
        """
        actual = hashlib.sha256()
        with self.open(digest) as fh:
            while chunk := fh.read(CHUNK):
                actual.update(chunk)
        if actual.hexdigest() != digest:
            raise IntegrityError(
                f"artifact {digest[:12]} is corrupt (content hash {actual.hexdigest()[:12]})",
                hint="Re-run the step that produced it (`mloop runs retry`).",
            )

    def download(self, digest: str, target: Path) -> Path:
        """Copy an artifact to a local file atomically."""
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        with self.open(digest) as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, CHUNK)
        os.replace(tmp, target)
        return target

    def delete(self, digest: str) -> None:
        self._backend.delete(object_key(_check(digest)))


def _check(digest: str) -> str:
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ArtifactNotFound(f"'{digest}' is not a sha256 digest", hint="Digests are 64 hex chars.")
    return digest


def _chunks(data: bytes | str | Path | BinaryIO) -> Iterator[bytes]:
    if isinstance(data, bytes | bytearray | memoryview):
        yield bytes(data)
        return
    if isinstance(data, str | Path):
        path = Path(data)
        if not path.is_file():
            raise ArtifactNotFound(f"no file at {path}", hint="Check the path.")
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                yield chunk
        return
    while chunk := data.read(CHUNK):
        yield chunk
