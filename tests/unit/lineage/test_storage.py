"""Storage security probes: S3 buckets on a real (moto) S3 endpoint, each setting on and off;
an IAM-restricted principal; the local filesystem from file modes; the per-bucket cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mloop.lineage import storage
from tests.support.servers import free_port, port_open, wait_until

BLOCK_ALL = {k: True for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")}


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    storage.clear_cache()
    yield
    storage.clear_cache()


def _s3(endpoint: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


def _bucket(endpoint: str) -> str:
    name = f"probe-{uuid.uuid4().hex[:10]}"
    _s3(endpoint).create_bucket(Bucket=name)
    return name


@pytest.mark.s3
def test_s3_bucket_with_every_setting_on(s3_endpoint: str) -> None:
    bucket, client = _bucket(s3_endpoint), _s3(s3_endpoint)
    client.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]})
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    client.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=BLOCK_ALL)
    client.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "Env", "Value": "development"}]})
    assert storage.probe_s3_bucket(bucket, endpoint_url=s3_endpoint) == {
        "encryption": "aws:kms", "versioning": "Enabled", "publicAccess": "Blocked", "tags": {"Env": "development"}}


@pytest.mark.s3
def test_s3_bucket_with_every_setting_off(s3_endpoint: str) -> None:
    bucket = _bucket(s3_endpoint)
    got = storage.probe_s3_bucket(bucket, endpoint_url=s3_endpoint)
    assert got["encryption"] == "Unknown" and got["reasons"]["encryption"] == "no default encryption configured"
    assert got["versioning"] == "Disabled"
    assert got["publicAccess"] == "Unknown" and "no public access block" in got["reasons"]["publicAccess"]
    assert got["tags"] == {}


@pytest.mark.s3
def test_s3_partial_and_suspended_settings(s3_endpoint: str) -> None:
    bucket, client = _bucket(s3_endpoint), _s3(s3_endpoint)
    client.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    client.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": False, "RestrictPublicBuckets": False})
    got = storage.probe_s3_bucket(bucket, endpoint_url=s3_endpoint)
    assert (got["encryption"], got["versioning"], got["publicAccess"]) == ("AES256", "Suspended", "PartiallyBlocked")


@pytest.mark.s3
def test_missing_bucket_and_unreachable_endpoint_are_unknown_with_reason(s3_endpoint: str) -> None:
    gone = storage.probe_s3_bucket("no-such-bucket-here", endpoint_url=s3_endpoint)
    assert gone["encryption"] == gone["publicAccess"] == "Unknown"
    assert set(gone["reasons"].values()) == {"bucket does not exist"}
    down = storage.probe_s3_bucket("any-bucket", endpoint_url=f"http://127.0.0.1:{free_port()}", timeout_ms=300)
    assert down["versioning"] == "Unknown" and "unreachable" in down["reasons"]["versioning"]


@pytest.mark.s3
def test_probe_results_are_cached_per_bucket_for_the_ttl(s3_endpoint: str) -> None:
    bucket, client = _bucket(s3_endpoint), _s3(s3_endpoint)
    first = storage.probe_s3_bucket(bucket, endpoint_url=s3_endpoint, ttl=600)
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert storage.probe_s3_bucket(bucket, endpoint_url=s3_endpoint, ttl=600) == first  # served from cache
    assert storage.probe_s3_bucket(bucket, endpoint_url=s3_endpoint, ttl=0)["versioning"] == "Enabled"


@pytest.fixture
def restricted_s3() -> Iterator[tuple[str, str]]:
    """A moto server with IAM enforced, a bucket, and credentials that may only read versioning."""
    import boto3

    port = free_port()
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "4", "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: port_open(port), what="IAM-enforcing moto server")
        endpoint = f"http://127.0.0.1:{port}"
        admin = {"endpoint_url": endpoint, "region_name": "us-east-1", "aws_access_key_id": "testing",
                 "aws_secret_access_key": "testing"}
        boto3.client("s3", **admin).create_bucket(Bucket="locked-bucket")
        iam = boto3.client("iam", **admin)
        iam.create_user(UserName="reader")
        iam.put_user_policy(UserName="reader", PolicyName="versioning-only", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["s3:GetBucketVersioning"], "Resource": "*"}]}))
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        yield endpoint, f"{key['AccessKeyId']}:{key['SecretAccessKey']}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.s3
@pytest.mark.slow
def test_a_bucket_without_permissions_reports_access_denied(
    restricted_s3: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint, creds = restricted_s3
    key_id, secret = creds.split(":", 1)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    got = storage.probe_s3_bucket("locked-bucket", endpoint_url=endpoint)
    assert got["versioning"] == "Disabled"  # the one permission it has
    assert got["encryption"] == got["publicAccess"] == "Unknown"
    assert got["reasons"] == {
        "encryption": "access denied (s3:GetBucketEncryption)",
        "publicAccess": "access denied (s3:GetPublicAccessBlock)",
        "tags": "access denied (s3:GetBucketTagging)",
    }


def test_local_files_report_public_access_from_their_mode(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    (root / "objects").mkdir(parents=True)
    private, shared = root / "objects" / "a", root / "objects" / "b"
    private.write_bytes(b"x")
    shared.write_bytes(b"y")
    private.chmod(0o600)
    shared.chmod(0o644)
    for directory in (tmp_path, root, root / "objects"):
        directory.chmod(0o755)
    got = storage.probe_local_file(root, private)
    assert got["publicAccess"] == "Blocked" and got["versioning"] == "content-addressed"
    assert got["encryption"] == "None" and got["tags"] == {}
    traversable_to_root = all(os.stat(p).st_mode & 0o001 for p in (tmp_path, *tmp_path.parents))
    expected = "NotBlocked" if traversable_to_root else "Blocked"
    assert storage.probe_local_file(root, shared)["publicAccess"] == expected
    missing = storage.probe_local_file(root, root / "objects" / "gone")
    assert missing["publicAccess"] == "Unknown" and "cannot stat" in missing["reasons"]["publicAccess"]


def test_describe_location_splits_bucket_and_key(tmp_path: Path) -> None:
    path = tmp_path / "objects" / "sha256" / "ab" / "abcd"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"z")
    local = storage.describe_location(path.as_uri(), local_root=tmp_path)
    assert local["bucket"] == str(tmp_path) and local["key"] == "objects/sha256/ab/abcd" and "storage" in local
    s3 = storage.describe_location("s3://my-bucket/pipelines/x/model.tar.gz", probe=False)
    assert s3 == {"bucket": "my-bucket", "key": "pipelines/x/model.tar.gz"}
