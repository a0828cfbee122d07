"""Shadow variants on a real `mloop serve` process, driven the way users drive it: the CLI,
httpx on mloop's, KServe V1's and Open Inference V2's routes, and boto3's sagemaker-runtime.

Uses its own endpoint (`shadow-ep`) in the package's workspace: production is ctr v1; the shadow
is ctr v2; v3 (a model that always raises) is a second shadow. The shadow's logged predictions
are checked against v2 predicting the same records in this process.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mloop import serving
from tests.integration.serving.conftest import Served, mloop, start_server, stop
from tests.support.servers import wait_until
from tests.support.serving import publish, train

pytestmark = pytest.mark.slow

EP = "shadow-ep"
RECORDS = [[25, "ios", 3.0, 0.5], [61, "web", None, -1.2], [33, "android", 22.0, 0.1], [47, "ios", 12.0, 1.9],
           [19, "web", 7.0, -0.3]]


def csv(record: list[Any]) -> bytes:
    return (",".join("" if v is None else str(v) for v in record) + "\n").encode()


@pytest.fixture(scope="module")
def shadowed(served: Served) -> Iterator[tuple[Served, str]]:
    """`shadow-ep`: production ctr v1 and, deployed with the CLI, shadow ctr v2; served."""
    serving.deploy(served.ws, EP, "ctr", version=1)
    r = mloop(served.root, "deploy", EP, "--model", "ctr", "--version", "2", "--variant", "shadow", "--shadow",
              "--json")
    assert r.returncode == 0, r.stderr
    shadow = next(v for v in json.loads(r.stdout)["variants"] if v["name"] == "shadow")
    assert shadow["shadow"] is True and shadow["weight"] == 0 and shadow["sample"] == 1.0
    proc, port = start_server(served.root, EP)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{url}/ping").status_code == 200, timeout=180, what=f"{EP} loaded")
        yield served, url
    finally:
        stop(proc)


def test_invalid_shadow_deploys_get_a_clear_error(served: Served) -> None:
    root = served.root
    r = mloop(root, "deploy", "no-such-ep", "--model", "ctr", "--version", "2", "--variant", "s", "--shadow")
    assert r.returncode == 1 and "endpoint 'no-such-ep' not found" in r.stderr and "Traceback" not in r.stderr
    serving.deploy(served.ws, "shadow-errors", "ctr", version=1)
    r = mloop(root, "deploy", "shadow-errors", "--model", "ctr", "--version", "2", "--variant", "s", "--shadow",
              "--weight", "10")
    assert r.returncode == 1 and "--shadow and --weight exclude each other" in r.stderr
    assert "mloop endpoints promote shadow-errors s --weight W" in r.stderr
    pending = publish(served.ws, "shadow-pending", train(seed=6, n_estimators=3), served.tmp, approve=False)
    r = mloop(root, "deploy", "shadow-errors", "--model", "shadow-pending", "--version", str(pending.version),
              "--variant", "s", "--shadow")
    assert r.returncode == 1 and "is PendingManualApproval; only Approved versions deploy" in r.stderr
    r = mloop(root, "deploy", "shadow-errors", "--model", "ctr", "--version", "2", "--shadow")
    assert r.returncode == 1 and "a shadow needs its own variant name" in r.stderr
    r = mloop(root, "deploy", "shadow-errors", "--model", "ctr", "--version", "2", "--variant", "s", "--shadow",
              "--sample", "0")
    assert r.returncode == 1 and "--sample is the share of requests" in r.stderr
    r = mloop(root, "deploy", "shadow-errors", "--model", "ctr", "--version", "2", "--sample", "0.5")
    assert r.returncode == 1 and "it needs --shadow" in r.stderr
    assert mloop(root, "deploy", "shadow-errors", "--model", "ctr", "--version", "2", "--variant", "s",
                 "--shadow").returncode == 0
    r = mloop(root, "endpoints", "set-weights", "shadow-errors", "production=90", "s=10")
    assert r.returncode == 1 and "'s' is a shadow variant: it takes no traffic" in r.stderr
    # the dashboard's weights form sends every variant, the shadow's 0 included: accepted
    assert mloop(root, "endpoints", "set-weights", "shadow-errors", "production=100", "s=0").returncode == 0
    r = mloop(root, "endpoints", "promote", "shadow-errors", "s")
    assert r.returncode == 1 and "--weight" in r.stderr
    # the shadow survives a new production deploy (it takes no traffic, nothing to rebalance)
    serving.deploy(served.ws, "shadow-errors", "ctr", version=2)
    assert [(v.name, v.shadow) for v in serving.get_endpoint(served.ws, "shadow-errors").variants] == [
        ("production", False), ("s", True)]
    assert "@shadow(1)" in mloop(root, "endpoints", "list").stdout.replace(" ", "").replace("\n", "")


def _shadow_rows(served: Served, n: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def enough() -> bool:
        rows[:] = [r for r in serving.read_log(served.ws, EP) if r["shadow"] and r["variant"] == "shadow"]
        return len(rows) >= n

    wait_until(enough, timeout=30, what=f"{n} shadow rows in the prediction log")
    return rows


def test_every_protocol_feeds_the_shadow_and_callers_see_production_only(shadowed: tuple[Served, str]) -> None:
    import boto3
    from botocore.config import Config

    served, url = shadowed
    v1_model = served.models[1]
    with httpx.Client(base_url=url, timeout=10.0) as client:
        answers = [client.post("/invocations", content=csv(r), headers={"content-type": "text/csv"})
                   for r in RECORDS]
        answers.append(client.post(f"/v1/models/{EP}:predict", json={"instances": RECORDS}))
        answers.append(client.post(f"/v2/models/{EP}/infer", json={"id": "v2-call", "inputs": [
            {"name": "records", "shape": [2, 4], "datatype": "BYTES",
             "data": [str(v) for r in (RECORDS[0], RECORDS[2]) for v in r]}]}))
        assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
        assert {a.headers["x-mloop-variant"] for a in answers} == {"production"}
        expected = v1_model.predict_records(RECORDS).tolist()
        got = [a.json()["predictions"][0] for a in answers[:5]]
        assert got == pytest.approx(expected)  # production answered, untouched by the shadow
    runtime = boto3.client("sagemaker-runtime", endpoint_url=url, region_name="us-east-1",
                           aws_access_key_id="mloop", aws_secret_access_key="mloop",
                           config=Config(retries={"max_attempts": 1}))
    answer = runtime.invoke_endpoint(EndpointName=EP, Body=csv(RECORDS[3]), ContentType="text/csv",
                                     InferenceId="boto3-call-1")
    assert answer["InvokedProductionVariant"] == "production"
    assert float(answer["Body"].read().decode()) == pytest.approx(expected[3])

    # 5 CSV rows + 5 V1 rows + 2 V2 rows + 1 boto3 row
    rows = _shadow_rows(served, 13)
    assert {(r["model_name"], r["model_version"], r["error"]) for r in rows} == {("ctr", 2, None)}
    by_id = {(r["request_id"], r["row"]): r["prediction"] for r in rows}
    shadow_truth = served.models[2].predict_records(RECORDS).tolist()
    assert by_id[("boto3-call-1", 0)] == pytest.approx(shadow_truth[3])  # paired by SageMaker's InferenceId
    assert [by_id[("v2-call", i)] for i in range(2)] == pytest.approx([shadow_truth[0], shadow_truth[2]])
    sent = RECORDS * 2 + [RECORDS[0], RECORDS[2], RECORDS[3]]
    assert sorted(r["prediction"] for r in rows) == pytest.approx(sorted(served.models[2].predict_records(sent)))
    live = {(r["request_id"], r["row"]): r for r in serving.read_log(served.ws, EP) if not r["shadow"]}
    assert live[("boto3-call-1", 0)]["prediction"] == pytest.approx(expected[3])
    assert live[("boto3-call-1", 0)]["variant"] == "production"

    metrics = httpx.get(f"{url}/metrics").text
    assert 'mloop_shadow_requests_total{endpoint="shadow-ep",model="ctr",outcome="ok",variant="shadow"' in metrics


def test_compare_reports_agreement_and_a_broken_shadow_hurts_nobody(shadowed: tuple[Served, str]) -> None:
    served, url = shadowed
    r = mloop(served.root, "deploy", EP, "--model", "ctr", "--version", "3", "--variant", "broken", "--shadow",
              "--sample", "1")
    assert r.returncode == 0, r.stderr
    gen = serving.get_endpoint(served.ws, EP).generation
    wait_until(lambda: httpx.get(f"{url}/ping").json()["generation"] == gen, timeout=120, what="broken shadow loaded")
    with httpx.Client(base_url=url, timeout=10.0) as client:
        for record in RECORDS:
            answer = client.post("/invocations", content=csv(record), headers={"content-type": "text/csv"})
            assert answer.status_code == 200 and answer.headers["x-mloop-variant"] == "production"

    def broken_logged() -> bool:
        return sum(1 for r in serving.read_log(served.ws, EP) if r["variant"] == "broken") >= len(RECORDS)

    wait_until(broken_logged, timeout=30, what="the broken shadow's errors in the log")
    r = mloop(served.root, "endpoints", "compare", EP, "--since", "1h", "--json")
    assert r.returncode == 0, r.stderr
    report = {v["variant"]: v for v in json.loads(r.stdout)["variants"]}
    broken = report["broken"]
    assert broken["shadow"] and broken["errors"] == broken["requests"] == len(RECORDS)
    assert broken["agreement"] is None and broken["dropped"] == 0
    shadow = report["shadow"]
    assert shadow["errors"] == 0 and shadow["requests"] >= len(RECORDS) and shadow["latency_ms"]["p99"] > 0
    # agreement worked out here from the logged pairs (the log's numbers are checked against the models above)
    log = serving.read_log(served.ws, EP)
    live = {(r["request_id"], r["row"]): r["prediction"] for r in log if r["variant"] == "production"}
    pairs = [(live[(r["request_id"], r["row"])], r["prediction"]) for r in log if r["variant"] == "shadow"]
    agree = shadow["agreement"]
    assert agree["task"] == "classification" and agree["baseline"] == "production"
    assert agree["pairs"] == len(pairs) >= len(RECORDS)
    flips = sum((p >= 0.5) != (s >= 0.5) for p, s in pairs) / len(pairs)
    assert agree["decisions_differ"] == pytest.approx(flips)
    assert agree["mean_abs_diff"] == pytest.approx(sum(abs(p - s) for p, s in pairs) / len(pairs))
    assert report["production"]["requests"] >= shadow["requests"]
    table = mloop(served.root, "endpoints", "compare", EP)
    assert table.returncode == 0 and "shadow" in table.stdout and "decisions_differ" in table.stdout


def test_promoting_a_shadow_makes_it_a_canary_recorded_in_the_history(shadowed: tuple[Served, str]) -> None:
    served, url = shadowed
    r = mloop(served.root, "endpoints", "promote", EP, "shadow", "--weight", "30", "--json")
    assert r.returncode == 0, r.stderr
    variants = {v["name"]: v for v in json.loads(r.stdout)["variants"]}
    assert (variants["shadow"]["weight"], variants["shadow"]["shadow"]) == (30, False)
    assert variants["production"]["weight"] == 70
    history = json.loads(mloop(served.root, "endpoints", "history", EP, "--json").stdout)
    assert history[0]["action"] == "promote"
    assert history[0]["detail"] == {"variant": "shadow", "model": "ctr", "version": 2, "from": "shadow",
                                    "weight": 30}
    gen = serving.get_endpoint(served.ws, EP).generation
    wait_until(lambda: httpx.get(f"{url}/ping").json()["generation"] == gen, timeout=60, what="promotion served")
    with httpx.Client(base_url=url, timeout=10.0) as client:
        seen = {client.post("/invocations", content=csv(RECORDS[0]),
                            headers={"content-type": "text/csv", "x-mloop-routing-key": f"user-{i}"}
                            ).headers["x-mloop-variant"] for i in range(60)}
    assert seen == {"production", "shadow"}  # the former shadow answers callers now
