"""Storage security metadata of artifacts: what seed 004 reports per artifact.

S3 buckets are probed through boto3 (GetBucketEncryption, GetBucketVersioning,
GetPublicAccessBlock, GetBucketTagging); a setting that cannot be read (access denied, not
configured, bucket or endpoint unreachable) is `"Unknown"` and `reasons` says why, as in the
seed's troubleshooting notes. The local filesystem reports `publicAccess` from file modes,
`encryption` "None" unless the filesystem is known to encrypt, and `versioning`
"content-addressed". Bucket results are cached for `[lineage] probe_ttl_seconds`, so a graph of
many artifacts costs one probe per bucket.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

UNKNOWN = "Unknown"
_ENCRYPTED_FS = {"ecryptfs": "ecryptfs", "fuse.gocryptfs": "gocryptfs", "fuse.encfs": "encfs"}

_cache: dict[tuple[str, ...], tuple[float, dict[str, Any]]] = {}
_clients: dict[tuple[str | None, int], Any] = {}
_lock = threading.Lock()


def clear_cache() -> None:
    """Forget every probe result (tests; after changing a bucket's settings)."""
    with _lock:
        _cache.clear()


def _cached(key: tuple[str, ...], ttl: float, probe: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
        if hit and now - hit[0] < ttl:  # the caller's ttl decides how old is too old
            return hit[1]
    result = probe()
    with _lock:
        _cache[key] = (time.monotonic(), result)
    return result


# ---------------------------------------------------------------------------------------- S3


def _client(endpoint_url: str | None, timeout_ms: int) -> Any:
    with _lock:
        client = _clients.get((endpoint_url, timeout_ms))
        if client is None:
            import boto3
            from botocore.config import Config

            seconds = timeout_ms / 1000
            config = Config(connect_timeout=seconds, read_timeout=seconds,
                            retries={"max_attempts": 1, "mode": "standard"})
            client = boto3.session.Session().client("s3", endpoint_url=endpoint_url, config=config)
            _clients[(endpoint_url, timeout_ms)] = client
        return client


def _why(exc: Exception, action: str) -> tuple[str, bool]:
    """(reason, fatal): fatal reasons (no bucket, no endpoint) apply to every other call too."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("AccessDenied", "AllAccessDisabled", "403", "Forbidden"):
            return f"access denied (s3:{action})", False
        if code in ("NoSuchBucket", "404"):
            return "bucket does not exist", True
        return f"{code or 'error'} on s3:{action}", False
    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials", True
    if isinstance(exc, BotoCoreError):
        return f"S3 endpoint unreachable ({type(exc).__name__})", True
    return f"probe failed ({type(exc).__name__})", False


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _encryption(client: Any, bucket: str) -> str:
    rules = client.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    for rule in rules:
        algo = rule.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm")
        if algo:
            return str(algo)
    raise LookupError("no default encryption rule")


def _versioning(client: Any, bucket: str) -> str:
    return str(client.get_bucket_versioning(Bucket=bucket).get("Status") or "Disabled")


def _public_access(client: Any, bucket: str) -> str:
    flags = client.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    values = [bool(flags.get(k)) for k in
              ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")]
    return "Blocked" if all(values) else "PartiallyBlocked" if any(values) else "NotBlocked"


def _tags(client: Any, bucket: str) -> dict[str, str]:
    tag_set = client.get_bucket_tagging(Bucket=bucket).get("TagSet", [])
    return {t["Key"]: t["Value"] for t in tag_set}


# (field, S3 action, reader, value when not configured, reason when not configured, error codes)
_S3_FIELDS: list[tuple[str, str, Callable[[Any, str], Any], Any, str | None, tuple[str, ...]]] = [
    ("encryption", "GetBucketEncryption", _encryption, UNKNOWN, "no default encryption configured",
     ("ServerSideEncryptionConfigurationNotFoundError",)),
    ("versioning", "GetBucketVersioning", _versioning, UNKNOWN, None, ()),
    ("publicAccess", "GetPublicAccessBlock", _public_access, UNKNOWN,
     "no public access block configured", ("NoSuchPublicAccessBlockConfiguration",)),
    ("tags", "GetBucketTagging", _tags, {}, None, ("NoSuchTagSet", "NoSuchTagSetError")),
]


def probe_s3_bucket(bucket: str, *, endpoint_url: str | None = None, timeout_ms: int = 2000,
                    ttl: float = 300.0) -> dict[str, Any]:
    """The security settings of an S3 bucket, `Unknown` (with `reasons`) where unreadable.

    Returns:
        `{encryption, versioning, publicAccess, tags[, reasons]}`; reasons maps a field to why
        it is Unknown. Never raises for AWS-side failures: lineage must render regardless.
    """
    key = ("s3", endpoint_url or "", bucket)
    return _cached(key, ttl, lambda: _probe_s3(bucket, endpoint_url, timeout_ms))


def _probe_s3(bucket: str, endpoint_url: str | None, timeout_ms: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    reasons: dict[str, str] = {}
    fatal: str | None = None
    for name, action, reader, missing, missing_reason, missing_codes in _S3_FIELDS:
        if fatal:
            out[name], reasons[name] = ({} if name == "tags" else UNKNOWN), fatal
            continue
        try:
            out[name] = reader(_client(endpoint_url, timeout_ms), bucket)
        except LookupError:
            out[name] = missing
            if missing_reason:
                reasons[name] = missing_reason
        except Exception as exc:  # noqa: BLE001 — a probe reports what it could not read (any client failure) instead of failing the lineage
            if _error_code(exc) in missing_codes:
                out[name] = missing
                if missing_reason:
                    reasons[name] = missing_reason
                continue
            reason, is_fatal = _why(exc, action)
            out[name] = {} if name == "tags" else UNKNOWN
            reasons[name] = reason
            fatal = reason if is_fatal else None
    if reasons:
        out["reasons"] = reasons
    return out


# ------------------------------------------------------------------------------------ local


def _fs_type(path: Path) -> str | None:
    """The filesystem type of the mount holding `path` (Linux /proc/mounts)."""
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return None
    best, fs_type = "", None
    target = str(path.resolve())
    for line in mounts:
        parts = line.split()
        inside = len(parts) >= 3 and (target == parts[1] or target.startswith(parts[1].rstrip("/") + "/"))
        if inside and len(parts[1]) >= len(best):
            best, fs_type = parts[1], parts[2]
    return fs_type


def probe_local_root(root: Path, *, ttl: float = 300.0) -> dict[str, Any]:
    """Settings shared by every file under a local artifact root (cached like a bucket)."""
    return _cached(("local", str(root)), ttl, lambda: _probe_root(root))


def _probe_root(root: Path) -> dict[str, Any]:
    fs_type = _fs_type(root)
    # Others can reach a file only through directories they may traverse (o+x).
    traversable = all(
        os.stat(p).st_mode & stat.S_IXOTH for p in (root, *root.parents) if p.exists()
    )
    return {"encryption": _ENCRYPTED_FS.get(fs_type or "", "None"), "versioning": "content-addressed",
            "traversable": traversable}


def probe_local_file(root: Path, path: Path, *, ttl: float = 300.0) -> dict[str, Any]:
    """Security metadata of one local artifact: public when world-readable and reachable."""
    base = probe_local_root(root, ttl=ttl)
    out: dict[str, Any] = {"encryption": base["encryption"], "versioning": base["versioning"]}
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        out.update(publicAccess=UNKNOWN, tags={}, reasons={"publicAccess": f"cannot stat: {exc.strerror}"})
        return out
    readable = bool(mode & stat.S_IROTH)
    out["publicAccess"] = "NotBlocked" if readable and base["traversable"] else "Blocked"
    out["tags"] = {}
    out["mode"] = oct(stat.S_IMODE(mode))
    return out


# ------------------------------------------------------------------------------ per location


def describe_location(uri: str, *, endpoint_url: str | None = None, local_root: Path | None = None,
                      probe: bool = True, ttl: float = 300.0, timeout_ms: int = 2000) -> dict[str, Any]:
    """Seed 004's artifact location fields for `uri`: `bucket`, `key` and `s3` (S3) or
    `storage` (local files) with the security metadata (omitted when `probe` is False)."""
    if uri.startswith("s3://"):
        bucket, _, key = uri[len("s3://"):].partition("/")
        out: dict[str, Any] = {"bucket": bucket, "key": key}
        if probe:
            out["s3"] = probe_s3_bucket(bucket, endpoint_url=endpoint_url, timeout_ms=timeout_ms, ttl=ttl)
        return out
    # A local file's metadata comes from its mode; cached per file like a bucket's, for the TTL.
    return _cached(("file", uri, str(local_root), str(probe)), ttl,
                   lambda: _describe_file(uri, local_root, probe, ttl))


def _describe_file(uri: str, local_root: Path | None, probe: bool, ttl: float) -> dict[str, Any]:
    path = Path(unquote(urlparse(uri).path)) if uri.startswith("file://") else Path(uri)
    root = local_root if local_root and _is_under(path, local_root) else path.parent
    out: dict[str, Any] = {"bucket": str(root),
                           "key": str(path.relative_to(root)) if _is_under(path, root) else path.name}
    if probe:
        out["storage"] = probe_local_file(root, path, ttl=ttl)
    return out


def _is_under(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False
