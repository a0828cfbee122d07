"""S3 backend on s3fs (imported lazily). Uploads are atomic: S3 shows an object only when its
upload completes, and mloop stages the bytes locally first, so a killed writer leaves nothing."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from mloop.error_map import ExceptionTable, map_exceptions
from mloop.errors import ArtifactNotFound, ConfigError, MloopError, StoreAccessDenied, StoreUnavailable

T = TypeVar("T")


class S3Backend:
    shared = True

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
        with map_exceptions(S3_ERRORS, url=self.url, bucket=self.bucket, key=key, operation=operation):
            return fn()

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

    def local_path(self, key: str) -> Path | None:
        return None

    def read_path(self, key: str) -> str:
        return self.uri(key)

    def attach_duckdb(self, con: Any) -> None:
        con.register_filesystem(self.fs)  # DuckDB reads s3:// paths through s3fs (mloop's credentials)

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


def _no_credentials(_exc: BaseException, c: Mapping[str, Any]) -> MloopError:
    return StoreAccessDenied(
        f"cannot {c['operation']} {c['url']}: no AWS credentials",
        hint="Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), "
        "and s3_endpoint_url for a non-AWS S3.")


def _client_error(exc: BaseException, c: Mapping[str, Any]) -> MloopError | None:
    """By S3's error code, which botocore carries as data (`response["Error"]["Code"]`)."""
    response = getattr(exc, "response", None)
    code = str(response.get("Error", {}).get("Code") or "") if isinstance(response, dict) else ""
    if code in _BAD_CREDENTIALS:
        return StoreAccessDenied(
            f"cannot {c['operation']} {c['url']}: the AWS credentials are expired or invalid ({code})",
            hint="Refresh them (`aws sso login`, new session token) or set valid AWS_* keys.")
    if code in _DENIED:
        return _denied(exc, c)
    if code == "NoSuchBucket":
        return StoreUnavailable(f"cannot {c['operation']} {c['url']}: bucket '{c['bucket']}' does not exist",
                                hint=f"Create it (`aws s3 mb s3://{c['bucket']}`) or fix artifact_root.")
    return None


def _denied(_exc: BaseException, c: Mapping[str, Any]) -> MloopError:
    action = _ACTIONS.get(c["operation"], _ACTIONS["read"])
    return StoreAccessDenied(
        f"cannot {c['operation']} {c['key']} in bucket '{c['bucket']}': access denied",
        hint=f"Grant {action} on arn:aws:s3:::{c['bucket']}/* to these credentials "
        "(the bucket policy or the role's IAM policy denies it).")


def _missing(_exc: BaseException, c: Mapping[str, Any]) -> MloopError:
    return ArtifactNotFound(f"artifact {c['key']} not found in {c['url']}")


def _unreachable(exc: BaseException, c: Mapping[str, Any]) -> MloopError:
    return StoreUnavailable(f"cannot reach the S3 endpoint for {c['url']}: {exc}",
                            hint="Check s3_endpoint_url (`mloop config show`) and the network.")


def _other(exc: BaseException, c: Mapping[str, Any]) -> MloopError:
    return StoreUnavailable(f"S3 error on {c['url']} ({c['operation']} {c['key']}): {exc}",
                            hint="Run with --debug for details.")


S3_ERRORS = ExceptionTable("s3", [
    (("botocore.exceptions:NoCredentialsError", "botocore.exceptions:PartialCredentialsError"), _no_credentials),
    ("botocore.exceptions:ClientError", _client_error),
    (FileNotFoundError, _missing),
    (PermissionError, _denied),
    (("botocore.exceptions:EndpointConnectionError", "botocore.exceptions:ConnectTimeoutError",
      "aiohttp:ClientError", ConnectionError, TimeoutError), _unreachable),
    (Exception, _other),  # any other failure of the store is an unavailable store, never a traceback
], follow_causes=True)


def make_bucket(url: str, endpoint_url: str | None = None) -> None:
    """Create the bucket of `url` if missing (used by tests and `mloop init`)."""
    backend = S3Backend(url, endpoint_url)
    fs: Any = backend.fs
    if not fs.exists(backend.bucket):
        fs.mkdir(backend.bucket)
