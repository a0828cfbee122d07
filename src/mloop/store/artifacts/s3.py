"""S3 backend on s3fs (imported lazily). Uploads are atomic: S3 shows an object only when its
upload completes, and mloop stages the bytes locally first, so a killed writer leaves nothing."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from mloop.errors import ArtifactNotFound, ConfigError, PermissionDenied, StoreUnavailable

T = TypeVar("T")


class S3Backend:
    def __init__(self, url: str, endpoint_url: str | None = None) -> None:
        try:
            import s3fs
        except ImportError as exc:
            raise ConfigError(
                f"artifact_root {url} needs s3fs", hint="pip install 'mloop[s3]'"
            ) from exc
        rest = url[len("s3://") :].strip("/")
        if not rest:
            raise ConfigError(f"artifact_root '{url}' names no bucket", hint="Use s3://bucket/prefix")
        self.bucket, _, self.prefix = rest.partition("/")
        self.url = url
        self.endpoint_url = endpoint_url
        client_kwargs = {"endpoint_url": endpoint_url} if endpoint_url else {}
        # Bounded multipart uploads: at most 2 parts of 16 MB in flight, so RSS stays flat.
        self.fs = s3fs.S3FileSystem(
            client_kwargs=client_kwargs, skip_instance_cache=True, max_concurrency=2
        )

    def _path(self, key: str) -> str:
        return "/".join(p for p in (self.bucket, self.prefix, key) if p)

    def _call(self, fn: Callable[[], T], key: str) -> T:
        try:
            return fn()
        except FileNotFoundError as exc:
            raise ArtifactNotFound(f"artifact {key} not found in {self.url}") from exc
        except PermissionError as exc:
            raise PermissionDenied(
                f"access denied to {self.url}: {exc}",
                hint="Check the bucket policy and the credentials' IAM permissions.",
            ) from exc
        except Exception as exc:
            raise _translate(exc, self.url) from exc

    def staging_dir(self) -> Path:
        return Path(tempfile.gettempdir())

    def put_file(self, local_path: Path, key: str, *, durable: bool = True) -> None:
        # `durable` is moot: a completed S3 PUT is durable
        try:
            self._call(lambda: self.fs.put_file(str(local_path), self._path(key), chunksize=16 * 2**20), key)
        finally:
            local_path.unlink(missing_ok=True)

    def open(self, key: str) -> BinaryIO:
        return self._call(lambda: self.fs.open(self._path(key), "rb"), key)

    def exists(self, key: str) -> bool:
        return bool(self._call(lambda: self.fs.exists(self._path(key)), key))

    def size(self, key: str) -> int:
        return int(self._call(lambda: self.fs.size(self._path(key)), key))

    def fs_path(self, key: str) -> str:
        return self._path(key)

    def uri(self, key: str) -> str:
        return "s3://" + self._path(key)

    def delete(self, key: str) -> None:
        self._call(lambda: self.fs.rm(self._path(key)), key)


def _translate(exc: Exception, url: str) -> Exception:
    name = type(exc).__name__
    if name in ("NoCredentialsError", "PartialCredentialsError"):
        return StoreUnavailable(
            f"no AWS credentials to reach {url}",
            hint="Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), "
            "and s3_endpoint_url for a non-AWS S3.",
        )
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ClientConnectorError"):
        return StoreUnavailable(
            f"cannot reach the S3 endpoint for {url}: {exc}",
            hint="Check s3_endpoint_url (`mloop config show`) and the network.",
        )
    if "NoSuchBucket" in str(exc) or name == "NoSuchBucket":
        return ArtifactNotFound(f"bucket of {url} does not exist", hint="Create the bucket first.")
    return StoreUnavailable(f"S3 error on {url}: {exc}", hint="Run with --debug for details.")


def make_bucket(url: str, endpoint_url: str | None = None) -> None:
    """Create the bucket of `url` if missing (used by tests and `mloop init`)."""
    backend = S3Backend(url, endpoint_url)
    fs: Any = backend.fs
    if not fs.exists(backend.bucket):
        fs.mkdir(backend.bucket)
