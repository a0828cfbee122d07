"""Seed 003's "storage permission denied": a store that refuses writes ends the run Failed with a
message naming the operation, the place and the fix; `retry` finishes the run once it is fixed."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mloop.errors import StoreAccessDenied
from mloop.pipelines import get_run, retry_run, run_pipeline
from tests.support import example_pipeline as ex
from tests.support.readonly import ReadOnly


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[ReadOnly]:
    folder = ReadOnly(tmp_path / "artifacts")
    yield folder
    ex.BEFORE_SAVE.clear()
    folder.close()


def _workspace(root: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> Any:
    from mloop.config import init_workspace
    from mloop.store import open_workspace

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    init_workspace(root)
    return open_workspace(root)


def test_read_only_artifact_folder_fails_the_run_and_retry_finishes_it(
    tmp_path: Path, read_only: ReadOnly, monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws = _workspace(tmp_path / "ws", monkeypatch, MLOOP_ARTIFACT_ROOT=str(read_only.path))
    ex.BEFORE_SAVE.append(read_only.lock)
    record = run_pipeline(ws, ex.store_break, tracking=False)
    assert record.status == "Failed"
    step = record.step("break_store")
    assert step.status == "Failed"
    assert str(read_only.path) in step.message and "artifact_root" in step.message
    assert record.error and "break_store" in record.error and str(read_only.path) in record.error
    assert record.step("split").status == "Pending"

    ex.BEFORE_SAVE.clear()
    read_only.unlock()
    again = retry_run(ws, record.id, tracking=False)
    assert again.status == "Succeeded", again.error
    assert again.step("load").status == "Cached"  # the step that succeeded is reused
    ws.close()


def test_a_read_only_folder_stops_a_run_before_its_first_step(
    tmp_path: Path, read_only: ReadOnly, monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws = _workspace(tmp_path / "ws", monkeypatch, MLOOP_ARTIFACT_ROOT=str(read_only.path))
    read_only.lock()
    with pytest.raises(StoreAccessDenied) as err:
        run_pipeline(ws, ex.store_break, tracking=False)
    assert str(read_only.path) in err.value.message and err.value.hint
    from mloop.pipelines import list_runs

    assert list_runs(ws) == []  # nothing half-started to clean up
    ws.close()


@pytest.fixture
def denied_put(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A bucket, an IAM user allowed s3:* on it, and moto's IAM enforcement on for this test.

    `deny()` adds an explicit Deny of s3:PutObject (what a restrictive policy does); `allow()`
    removes it. moto enforces identity policies (it does not evaluate bucket policies), and an
    explicit Deny wins the same way on AWS.
    """
    import boto3
    import requests

    def client(service: str, key: str = "testing", secret: str = "testing") -> Any:
        return boto3.client(service, endpoint_url=s3_endpoint, region_name="us-east-1",
                            aws_access_key_id=key, aws_secret_access_key=secret)

    bucket = f"deny-{uuid.uuid4().hex[:10]}"
    client("s3").create_bucket(Bucket=bucket)
    iam = client("iam")
    admin, user = f"admin-{bucket}", f"app-{bucket}"
    for name, statement in ((admin, {"Effect": "Allow", "Action": "*", "Resource": "*"}),
                            (user, {"Effect": "Allow", "Action": "s3:*", "Resource": "*"})):
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="base", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [statement]}))
    admin_key = iam.create_access_key(UserName=admin)["AccessKey"]
    user_key = iam.create_access_key(UserName=user)["AccessKey"]
    admin_iam = client("iam", admin_key["AccessKeyId"], admin_key["SecretAccessKey"])
    deny_doc = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]})
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", user_key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", user_key["SecretAccessKey"])
    previous = requests.post(f"{s3_endpoint}/moto-api/reset-auth", data=b"0", timeout=10).json()
    try:
        yield {
            "url": f"s3://{bucket}/artifacts", "bucket": bucket,
            "deny": lambda: admin_iam.put_user_policy(UserName=user, PolicyName="deny-put",
                                                      PolicyDocument=deny_doc),
            "allow": lambda: admin_iam.delete_user_policy(UserName=user, PolicyName="deny-put"),
        }
    finally:
        before = previous.get("PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT", float("inf"))
        requests.post(f"{s3_endpoint}/moto-api/reset-auth", data=str(before).encode(), timeout=10)


def test_bucket_denying_put_object_fails_the_run_and_retry_finishes_it(
    tmp_path: Path, denied_put: dict[str, Any], s3_endpoint: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws = _workspace(tmp_path / "ws", monkeypatch, MLOOP_ARTIFACT_ROOT=denied_put["url"],
                    MLOOP_S3_ENDPOINT_URL=s3_endpoint)
    ex.BEFORE_SAVE.append(denied_put["deny"])
    try:
        record = run_pipeline(ws, ex.store_break, tracking=False)
    finally:
        ex.BEFORE_SAVE.clear()
    assert record.status == "Failed"
    message = record.step("break_store").message
    assert "access denied" in message and denied_put["bucket"] in message
    assert "s3:PutObject" in message  # the permission to grant
    assert record.error and "break_store" in record.error

    denied_put["allow"]()
    again = retry_run(ws, record.id, tracking=False)
    assert again.status == "Succeeded", again.error
    assert get_run(ws, again.id).step("split").status == "Succeeded"
    ws.close()
