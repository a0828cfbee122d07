"""SageMaker's client code, unchanged but for the URL, against a real `mloop serve` process.

boto3's `sagemaker-runtime` client and (when it is installed) the AWS CLI call
`POST /endpoints/{EndpointName}/invocations`; errors must be the ones botocore raises with a
readable message. Uses its own endpoint (`sm-ep`) and server in the package's workspace.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mloop import serving
from tests.integration.serving.conftest import Served, start_server, stop
from tests.support.servers import wait_until

pytestmark = pytest.mark.slow

ROWS = [[25, "ios", 3, 0.5], [61, "web", None, -1.2], [33, "android", 22, 0.1]]
CSV = "25,ios,3,0.5\n61,web,,-1.2\n33,android,22,0.1\n"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "mloop", "AWS_SECRET_ACCESS_KEY": "mloop", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def sm(served: Served) -> Iterator[tuple[Served, str, Any]]:
    """`sm-ep` with production ctr v1 (90) and canary ctr v2 (10), served; a boto3 client for it."""
    import boto3
    from botocore.config import Config

    serving.deploy(served.ws, "sm-ep", "ctr", version=1)
    serving.deploy(served.ws, "sm-ep", "ctr", version=2, variant="canary", weight=10)
    # boto3 sends no bearer token: TargetVariant needs the setting meant for an authenticating gateway
    proc, port = start_server(served.root, "sm-ep", env={"MLOOP_SERVING__ALLOW_TARGET_VARIANT": "true"})
    url = f"http://127.0.0.1:{port}"
    client = boto3.client("sagemaker-runtime", endpoint_url=url, region_name="us-east-1",
                          aws_access_key_id="mloop", aws_secret_access_key="mloop",
                          config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10))
    try:
        wait_until(lambda: _ready(url), timeout=180, what="sm-ep loaded")
        yield served, url, client
    finally:
        stop(proc)


def _ready(url: str) -> bool:
    import httpx

    return httpx.get(f"{url}/ping").status_code == 200


def _error(call: Any) -> dict[str, Any]:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as info:
        call()
    return {**info.value.response["Error"], "text": str(info.value), **info.value.response}


def test_csv_in_csv_out_one_score_per_line(sm: tuple[Served, str, Any]) -> None:
    served, _url, client = sm
    out = client.invoke_endpoint(EndpointName="sm-ep", ContentType="text/csv", Body=CSV.encode(),
                                 TargetVariant="production")
    assert out["ContentType"] == "text/csv"
    assert out["InvokedProductionVariant"] == "production"
    lines = out["Body"].read().decode().splitlines()
    expected = served.models[1].predict_records(ROWS).tolist()
    assert [float(x) for x in lines] == pytest.approx(expected, abs=1e-6)


def test_json_and_accept_honoured(sm: tuple[Served, str, Any]) -> None:
    served, _url, client = sm
    expected = served.models[1].predict_records(ROWS).tolist()
    out = client.invoke_endpoint(EndpointName="sm-ep", ContentType="application/json", TargetVariant="production",
                                 Body=json.dumps({"instances": ROWS}))
    assert out["ContentType"] == "application/json"
    assert json.loads(out["Body"].read())["predictions"] == pytest.approx(expected, abs=1e-6)
    as_json = client.invoke_endpoint(EndpointName="sm-ep", ContentType="text/csv", Accept="application/json",
                                     TargetVariant="production", Body=CSV)
    assert json.loads(as_json["Body"].read())["predictions"] == pytest.approx(expected, abs=1e-6)


def test_target_variant_custom_attributes_and_inference_id(sm: tuple[Served, str, Any]) -> None:
    served, _url, client = sm
    out = client.invoke_endpoint(EndpointName="sm-ep", ContentType="text/csv", Body=CSV, TargetVariant="canary",
                                 CustomAttributes="trace=abc-123", InferenceId="req-42")
    assert out["InvokedProductionVariant"] == "canary"
    assert out["CustomAttributes"] == "trace=abc-123"
    assert out["ResponseMetadata"]["HTTPHeaders"]["x-mloop-inference-id"] == "req-42"
    assert out["ResponseMetadata"]["HTTPHeaders"]["x-mloop-model-version"] == "2"
    expected = served.models[2].predict_records(ROWS).tolist()
    assert [float(x) for x in out["Body"].read().split()] == pytest.approx(expected, abs=1e-6)
    seen = {client.invoke_endpoint(EndpointName="sm-ep", ContentType="text/csv", Body="25,ios,3,0.5")
            ["InvokedProductionVariant"] for _ in range(60)}
    assert seen <= {"production", "canary"} and "production" in seen


def test_errors_are_the_ones_boto3_raises(sm: tuple[Served, str, Any]) -> None:
    _served, _url, client = sm
    unknown = _error(lambda: client.invoke_endpoint(EndpointName="nope", ContentType="text/csv", Body=CSV))
    assert unknown["Code"] == "ValidationError" and unknown["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "Endpoint nope not found" in unknown["text"] and "mloop serve nope" in unknown["text"]
    variant = _error(lambda: client.invoke_endpoint(EndpointName="sm-ep", ContentType="text/csv", Body=CSV,
                                                    TargetVariant="blue"))
    assert variant["Code"] == "ValidationError" and "canary, production" in variant["Message"]
    bad = _error(lambda: client.invoke_endpoint(EndpointName="sm-ep", ContentType="text/csv", Body="25,ios,3"))
    assert bad["Code"] == "ModelError" and bad["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert bad["OriginalStatusCode"] == 400 and "3 values, expected 4" in bad["OriginalMessage"]
    assert "Received client error (400)" in bad["text"]
    media = _error(lambda: client.invoke_endpoint(EndpointName="sm-ep", ContentType="image/png", Body=b"\x89PNG"))
    assert media["Code"] == "ModelError" and media["OriginalStatusCode"] == 415
    attributes = _error(lambda: client.invoke_endpoint(EndpointName="sm-ep", ContentType="text/csv", Body=CSV,
                                                       CustomAttributes="x" * 1025))
    assert attributes["Code"] == "ValidationError" and "CustomAttributes" in attributes["Message"]


def _aws_cli() -> list[str] | None:
    exe = Path(sys.executable).parent / "aws"
    return [str(exe)] if exe.exists() else ([found] if (found := shutil.which("aws")) else None)


def test_aws_cli_invoke_endpoint(sm: tuple[Served, str, Any], tmp_path: Path) -> None:
    aws = _aws_cli()
    if aws is None:
        pytest.skip("the AWS CLI is not installed (pip install awscli: the dev extra pins it)")
    _served, url, _client = sm
    env = {"PATH": str(Path(sys.executable).parent), "HOME": str(tmp_path), **CREDENTIALS}
    out = tmp_path / "output.json"
    args = [*aws, "sagemaker-runtime", "invoke-endpoint", "--endpoint-url", url, "--endpoint-name", "sm-ep",
            "--content-type", "text/csv", "--target-variant", "production"]
    r = subprocess.run([*args, "--body", "25,ios,3,0.5", str(out)], env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["InvokedProductionVariant"] == "production"
    assert 0.0 <= float(out.read_text()) <= 1.0
    args[args.index("sm-ep")] = "nope"
    r = subprocess.run([*args, "--body", "25,ios,3,0.5", str(out)], env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode != 0
    assert "(ValidationError) when calling the InvokeEndpoint operation: Endpoint nope not found" in r.stderr


def test_stopped_server_is_a_connection_error(served: Served) -> None:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import EndpointConnectionError

    serving.deploy(served.ws, "sm-stop", "ctr", version=1)
    proc, port = start_server(served.root, "sm-stop")
    client = boto3.client("sagemaker-runtime", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                          aws_access_key_id="mloop", aws_secret_access_key="mloop",
                          config=Config(retries={"max_attempts": 1}, connect_timeout=2))
    wait_until(lambda: _ready(f"http://127.0.0.1:{port}"), timeout=180, what="sm-stop loaded")
    assert client.invoke_endpoint(EndpointName="sm-stop", ContentType="text/csv", Body="25,ios,3,0.5")["Body"].read()
    stop(proc)
    with pytest.raises(EndpointConnectionError, match=f"127.0.0.1:{port}/endpoints/sm-stop/invocations"):
        client.invoke_endpoint(EndpointName="sm-stop", ContentType="text/csv", Body="25,ios,3,0.5")
