"""The artifact store contract, on the local filesystem and on S3 (moto server)."""

from __future__ import annotations

import hashlib
import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mloop.errors import ArtifactNotFound, IntegrityError, StoreUnavailable
from mloop.store import ArtifactStore, open_backend


@pytest.fixture
def store(artifact_root: str, s3_endpoint_for_root: str | None) -> ArtifactStore:
    return ArtifactStore(open_backend(artifact_root, s3_endpoint_for_root))


@pytest.fixture
def s3_endpoint_for_root(artifact_root: str, request: pytest.FixtureRequest) -> str | None:
    return request.getfixturevalue("s3_endpoint") if artifact_root.startswith("s3://") else None


def test_put_bytes_file_and_stream_are_content_addressed(store: ArtifactStore, tmp_path: Path) -> None:
    data = b"hello artifacts\n" * 1000
    digest = store.put(data)
    assert digest == hashlib.sha256(data).hexdigest()
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    assert store.put(path) == digest
    assert store.put(io.BytesIO(data)) == digest
    assert store.exists(digest) and store.size(digest) == len(data)
    assert store.get_bytes(digest) == data
    assert digest in store.uri(digest)
    store.verify(digest)


def test_repeated_content_is_not_rewritten_and_non_durable_puts_are_complete(store: ArtifactStore,
                                                                             tmp_path: Path) -> None:
    data = b"same bytes"
    digest = store.put(data)
    staging = store._backend.staging_dir()
    private = staging.is_relative_to(tmp_path)  # S3 stages in the shared system temp dir
    before = sorted(staging.iterdir()) if private else []
    assert store.put(data) == digest and store.put(io.BytesIO(data)) == digest
    assert (sorted(staging.iterdir()) if private else []) == before  # no temp files left behind
    other = store.put(b"recomputable output", durable=False)  # bytes synced; only the dir entry is not
    assert store.get_bytes(other) == b"recomputable output"
    store.verify(other)
    path = tmp_path / "out.json"
    path.write_bytes(b'{"x": 1}')
    assert store.get_bytes(store.put(path, durable=False)) == b'{"x": 1}'


def test_missing_artifacts_and_bad_digests(store: ArtifactStore) -> None:
    missing = "0" * 64
    assert not store.exists(missing)
    with pytest.raises(ArtifactNotFound):
        store.get_bytes(missing)
    with pytest.raises(ArtifactNotFound, match="not a sha256 digest"):
        store.get_bytes("../../etc/passwd")


STREAMER = """
import hashlib, os, sys
from mloop.store import ArtifactStore, open_backend
total, block, h = int(sys.argv[3]), os.urandom(1 << 20), hashlib.sha256()
class Stream:
    left = total
    def read(self, n=-1):
        n = min(n, self.left)
        out = (block * (n // len(block) + 1))[:n]
        self.left -= n
        h.update(out)
        return out
store = ArtifactStore(open_backend(sys.argv[1], sys.argv[2] or None))
digest = store.put(Stream())
assert digest == h.hexdigest() and store.size(digest) == total
# VmHWM, not ru_maxrss: Linux folds the forking parent's RSS into ru_maxrss at exec.
print(next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) // 1024)
"""


def test_large_streams_are_not_read_into_memory(artifact_root: str, s3_endpoint_for_root: str | None) -> None:
    """A writer process stores more data than its peak RSS: the bytes are never all in memory."""
    # moto keeps S3 objects in this process's memory (and is slow), so the S3 run streams less.
    total = (320 if s3_endpoint_for_root else 512) * 1024 * 1024
    result = subprocess.run(
        [sys.executable, "-c", STREAMER, artifact_root, s3_endpoint_for_root or "", str(total)],
        capture_output=True, text=True, timeout=300, env=os.environ.copy(),
    )
    assert result.returncode == 0, result.stderr
    peak_mb = int(result.stdout.strip())
    assert peak_mb < min(total >> 20, 300), f"peak RSS {peak_mb} MB while storing {total >> 20} MB"


def test_verify_detects_corruption(tmp_path: Path) -> None:
    store = ArtifactStore(open_backend(str(tmp_path / "a")))
    digest = store.put(b"original")
    Path(store.fs_path(digest)).write_bytes(b"tampered")
    with pytest.raises(IntegrityError):
        store.verify(digest)


def test_put_replaces_an_object_whose_bytes_no_longer_match(store: ArtifactStore, tmp_path: Path) -> None:
    """A damaged object is healed by writing its content again (bytes, file and stream alike)."""
    from mloop.store.artifacts.base import object_key

    content = b"step output " * 1000
    source = tmp_path / "out.bin"
    source.write_bytes(content)
    for again in (lambda: store.put(content), lambda: store.put(source), lambda: store.put(io.BytesIO(content))):
        digest = store.put(content)
        damaged = tmp_path / "damaged"
        damaged.write_bytes(content[:-1] + b"X")  # one byte flipped, same size
        store._backend.put_file(damaged, object_key(digest))
        with pytest.raises(IntegrityError):
            store.verify(digest)
        assert again() == digest
        store.verify(digest)
        assert store.get_bytes(digest) == content


WRITER = """
import sys, time
from mloop.store import ArtifactStore, open_backend
class Slow:
    def read(self, n=-1):
        print("writing", flush=True)
        time.sleep(0.05)
        return b"x" * 65536
ArtifactStore(open_backend(sys.argv[1])).put(Slow())
"""


def test_a_writer_killed_mid_write_leaves_no_visible_artifact(tmp_path: Path) -> None:
    root = tmp_path / "a"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(root)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for _ in range(5):
        proc.stdout.readline()  # it is writing
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    objects = list((root / "objects").rglob("*")) if (root / "objects").exists() else []
    assert [p for p in objects if p.is_file()] == []
    store = ArtifactStore(open_backend(str(root)))
    digest = store.put(b"after the crash")
    assert store.get_bytes(digest) == b"after the crash"


def test_s3_without_credentials_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    store = ArtifactStore(open_backend("s3://no-creds-bucket/x", "http://127.0.0.1:9"))
    with pytest.raises(StoreUnavailable) as err:
        store.put(b"x")
    assert "AWS_ACCESS_KEY_ID" in (err.value.hint or "") or "S3 endpoint" in err.value.message
