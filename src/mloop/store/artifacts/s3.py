"""S3 backend on s3fs (imported lazily). Uploads are atomic: S3 shows an object only when its
upload completes, and mloop stages the bytes locally first, so a killed writer leaves nothing."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from mloop.errors import ArtifactNotFound, ConfigError, StoreAccessDenied, StoreUnavailable

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

    def _call(self, fn: Callable[[], T], key: str, operation: str = "read") -> T:
        try:
            return fn()
        except Exception as exc:
            raise _translate(exc, self.url, self.bucket, key, operation) from exc

    def staging_dir(self) -> Path:
        return Path(tempfile.gettempdir())

    def put_file(self, local_path: Path, key: str, *, durable: bool = True) -> None:
        # `durable` is moot: a completed S3 PUT is durable
        try:
            self._call(lambda: self.fs.put_file(str(local_path), self._path(key), chunksize=16 * 2**20),
                       key, "write")
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
        self._call(lambda: self.fs.rm(self._path(key)), key, "delete")


# The IAM action each of mloop's operations needs, for the hint of an AccessDenied.
_ACTIONS = {"read": "s3:GetObject and s3:ListBucket", "write": "s3:PutObject",
            "delete": "s3:DeleteObject"}
_DENIED = {"AccessDenied", "AllAccessDisabled", "403", "Forbidden"}
_BAD_CREDENTIALS = {"ExpiredToken", "ExpiredTokenException", "InvalidAccessKeyId",
                    "SignatureDoesNotMatch", "InvalidToken", "TokenRefreshRequired"}


def _error_code(exc: BaseException) -> str | None:
    """S3's error code from a botocore ClientError anywhere in the cause chain (s3fs wraps it)."""
    seen: BaseException | None = exc
    while seen is not None:
        response = getattr(seen, "response", None)
        if isinstance(response, dict):
            return str(response.get("Error", {}).get("Code") or "") or None
        seen = seen.__cause__ or seen.__context__
    return None


def _translate(exc: Exception, url: str, bucket: str, key: str, operation: str) -> Exception:
    """Map a boto/s3fs exception to an MloopError by its type and S3 error code."""
    from botocore import exceptions as bx

    code = _error_code(exc)
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return StoreAccessDenied(
            f"cannot {operation} {url}: no AWS credentials",
            hint="Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), "
            "and s3_endpoint_url for a non-AWS S3.")
    if code in _BAD_CREDENTIALS:
        return StoreAccessDenied(
            f"cannot {operation} {url}: the AWS credentials are expired or invalid ({code})",
            hint="Refresh them (`aws sso login`, new session token) or set valid AWS_* keys.")
    if code in _DENIED or (code is None and isinstance(exc, PermissionError)):
        action = _ACTIONS.get(operation, _ACTIONS["read"])
        return StoreAccessDenied(
            f"cannot {operation} {key} in bucket '{bucket}': access denied",
            hint=f"Grant {action} on arn:aws:s3:::{bucket}/* to these credentials "
            "(the bucket policy or the role's IAM policy denies it).")
    if code == "NoSuchBucket":
        return StoreUnavailable(f"cannot {operation} {url}: bucket '{bucket}' does not exist",
                                hint=f"Create it (`aws s3 mb s3://{bucket}`) or fix artifact_root.")
    if isinstance(exc, FileNotFoundError):
        return ArtifactNotFound(f"artifact {key} not found in {url}")
    if isinstance(exc, bx.EndpointConnectionError | bx.ConnectTimeoutError | ConnectionError
                  | TimeoutError) or type(exc).__module__.startswith("aiohttp"):
        return StoreUnavailable(
            f"cannot reach the S3 endpoint for {url}: {exc}",
            hint="Check s3_endpoint_url (`mloop config show`) and the network.")
    return StoreUnavailable(f"S3 error on {url} ({operation} {key}): {exc}",
                            hint="Run with --debug for details.")


def make_bucket(url: str, endpoint_url: str | None = None) -> None:
    """Create the bucket of `url` if missing (used by tests and `mloop init`)."""
    backend = S3Backend(url, endpoint_url)
    fs: Any = backend.fs
    if not fs.exists(backend.bucket):
        fs.mkdir(backend.bucket)
