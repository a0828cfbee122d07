"""The model server as clients see it: a real `mloop serve` process, called over HTTP.

The tests run in order on one server: invoke before any deploy, deploy, every protocol, bad
input, a load test through deploy/weights/promote/rollback, a breaking canary, metrics.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import httpx
import pytest

from mloop import serving
from tests.integration.serving.conftest import Served
from tests.support.servers import wait_until

pytestmark = pytest.mark.slow

ROWS = [[25, "ios", 3, 0.5], [61, "web", None, -1.2], [33, "android", 22, 0.1]]
CSV = "25,ios,3,0.5\n61,web,,-1.2\n33,android,22,0.1\n"


def serves(c: httpx.Client, **expect: str) -> bool:
    r = c.post("/invocations", content="25,ios,3,0.5", headers={"content-type": "text/csv"})
    return r.status_code == 200 and all(r.headers.get(f"x-mloop-{k}") == v for k, v in expect.items())


def test_before_any_deploy_is_a_clear_503(served: Served) -> None:
    with served.client() as c:
        assert c.get("/ping").status_code == 503
        r = c.post("/invocations", content="1,2,3,4", headers={"content-type": "text/csv"})
        assert r.status_code == 503
        assert "no model deployed" in r.json()["message"] and "mloop deploy ctr-ep" in r.json()["hint"]
        # `mloop serve` answers only to its bind address and localhost (DNS rebinding, issue 18)
        assert c.get("/ping", headers={"Host": "localhost"}).status_code == 503
        rebound = c.post("/invocations", content="1,2,3,4", headers={"content-type": "text/csv",
                                                                     "Host": "attacker.example"})
        assert rebound.status_code == 400 and rebound.json()["code"] == "invalid_host"


def test_protocols_answer_like_the_in_process_model(served: Served) -> None:
    serving.deploy(served.ws, "ctr-ep", "ctr", version=1)
    expected = served.models[1].predict_records(ROWS).tolist()
    with served.client() as c:
        wait_until(lambda: c.get("/ping").status_code == 200, timeout=30, what="first load")
        answers = {
            "csv": c.post("/invocations", content=CSV, headers={"content-type": "text/csv"}),
            "json": c.post("/invocations", json={"instances": ROWS}),
            "split": c.post("/invocations", json={"dataframe_split": {
                "columns": ["age", "device", "hour", "score"], "data": ROWS}}),
            "records": c.post("/invocations", json={"dataframe_records": [
                dict(zip(["age", "device", "hour", "score"], r, strict=True)) for r in ROWS]}),
            "v1": c.post("/v1/models/ctr-ep:predict", json={"instances": ROWS}),
            "v1-model-name": c.post("/v1/models/ctr:predict", json={"instances": ROWS}),
        }
        for name, r in answers.items():
            assert r.status_code == 200, (name, r.text)
            assert r.headers["x-mloop-model"] == "ctr" and r.headers["x-mloop-model-version"] == "1"
            assert r.headers["x-mloop-variant"] == "production"
            assert r.json()["predictions"] == pytest.approx(expected, abs=1e-6), name
        csv_out = c.post("/invocations", content=CSV, headers={"content-type": "text/csv", "accept": "text/csv"})
        assert [float(x) for x in csv_out.text.split()] == pytest.approx(expected, abs=1e-6)
        v2 = c.post("/v2/models/ctr-ep/infer", json={"id": "q1", "inputs": [
            {"name": "age", "shape": [3], "datatype": "INT64", "data": [25, 61, 33]},
            {"name": "device", "shape": [3], "datatype": "BYTES", "data": ["ios", "web", "android"]},
            {"name": "hour", "shape": [3], "datatype": "BYTES", "data": ["3", "", "22"]},
            {"name": "score", "shape": [3], "datatype": "FP64", "data": [0.5, -1.2, 0.1]},
        ]})
        assert v2.status_code == 200, v2.text
        out = v2.json()
        assert out["id"] == "q1" and out["model_version"] == "1"
        assert out["outputs"][0]["data"] == pytest.approx(expected, abs=1e-6)
        matrix = c.post("/v2/models/ctr/infer", json={"inputs": [
            {"name": "input-0", "shape": [1, 4], "datatype": "FP64", "data": [25, 1, 3, 0.5]}]})
        assert matrix.status_code == 200, matrix.text
        assert c.get("/v2/health/ready").status_code == 200
        meta = c.get("/v2/models/ctr-ep").json()
        assert [i["name"] for i in meta["inputs"]] == ["age", "device", "hour", "score"]
        assert c.get("/v1/models/ctr-ep").json()["ready"] is True


@pytest.mark.parametrize("body, headers, status, words", [
    ("25,ios,3", {"content-type": "text/csv"}, 400, "3 values, expected 4"),
    ("25,ios,abc,0.5", {"content-type": "text/csv"}, 400, "expects a number"),
    ("{not json", {"content-type": "application/json"}, 400, "malformed JSON"),
    ('{"rows": []}', {"content-type": "application/json"}, 400, "none of the keys"),
    ('{"instances": [{"agee": 25, "device": "ios", "hour": 3, "score": 0.5}]}',
     {"content-type": "application/json"}, 400, "unknown field 'agee' and lacks the feature 'age'"),
    ("\x00\x01", {"content-type": "application/octet-stream"}, 415, "unsupported content type"),
    ("x" * (7 * 1024 * 1024), {"content-type": "text/csv"}, 413, "exceeds the limit"),
])
def test_bad_input_is_a_4xx_with_a_message(served: Served, body: str, headers: dict[str, str], status: int,
                                           words: str) -> None:
    with served.client() as c:
        r = c.post("/invocations", content=body, headers=headers)
        assert r.status_code == status and words in r.json()["message"], r.text


def test_unknown_model_and_version_are_404(served: Served) -> None:
    with served.client() as c:
        r = c.post("/v1/models/nope:predict", json={"instances": ROWS})
        assert r.status_code == 404 and "ctr-ep" in r.json()["hint"]
        assert c.post("/v2/models/ctr/versions/9/infer", json={"inputs": [
            {"name": "input-0", "shape": [1, 4], "datatype": "FP64", "data": [1, 1, 1, 1]}]}).status_code == 404
        assert c.get("/v2/models/nope").status_code == 404


class Load:
    """Clients calling the server without pause; every non-200 is a failure."""

    def __init__(self, url: str, threads: int = 4) -> None:
        self.url, self.stop = url, threading.Event()
        self.ok, self.failures = Counter(), []  # type: ignore[var-annotated]
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(threads)]

    def _run(self, i: int) -> None:
        with httpx.Client(base_url=self.url, timeout=10.0) as c:
            n = 0
            while not self.stop.is_set():
                n += 1
                try:
                    r = c.post("/invocations", content="25,ios,3,0.5", headers={"content-type": "text/csv"})
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                    continue
                if r.status_code != 200:
                    self.failures.append(f"{r.status_code} {r.text}")
                else:
                    self.ok[(r.headers["x-mloop-variant"], r.headers["x-mloop-model-version"])] += 1

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()


def test_zero_failed_requests_through_deploy_weights_promote_rollback(served: Served) -> None:
    ws = served.ws
    with Load(served.url) as load, served.client() as c:
        serving.deploy(ws, "ctr-ep", "ctr", version=2, variant="canary", weight=20)
        wait_until(lambda: serves(c, variant="canary", **{"model-version": "2"}), timeout=20, what="canary")
        serving.set_weights(ws, "ctr-ep", {"production": 50, "canary": 50})
        wait_until(lambda: c.get("/ping").json()["generation"] == 3, timeout=20, what="weights")
        serving.promote(ws, "ctr-ep")
        wait_until(lambda: all(serves(c, variant="production", **{"model-version": "2"}) for _ in range(20)),
                   timeout=20, what="promote")
        serving.rollback(ws, "ctr-ep")
        wait_until(lambda: c.get("/ping").json()["generation"] == 5, timeout=20, what="rollback")
        after_rollback = sum(load.ok.values())  # keep the load running on the restored configuration
        wait_until(lambda: sum(load.ok.values()) >= after_rollback + 50, timeout=30, what="load after rollback")
    assert load.failures == []
    assert {("production", "1"), ("canary", "2"), ("production", "2")} <= set(load.ok)
    weights = {v.name: v.weight for v in serving.get_endpoint(ws, "ctr-ep").variants}
    assert weights == {"production": 50, "canary": 50}


def test_a_breaking_canary_is_rolled_back_by_the_guardrail(served: Served) -> None:
    from mloop.alerts import list_alerts

    ws = served.ws
    serving.deploy(ws, "ctr-ep", "ctr", version=1)
    ep = serving.deploy(ws, "ctr-ep", "ctr", version=3, variant="canary", weight=30)
    with served.client() as c:
        wait_until(lambda: c.get("/ping").json()["generation"] == ep.generation, timeout=20, what="canary")
        codes: Counter[int] = Counter()

        def rolled_back() -> bool:
            for _ in range(20):
                codes[c.post("/invocations", content="25,ios,3,0.5",
                              headers={"content-type": "text/csv"}).status_code] += 1
            return serving.get_endpoint(ws, "ctr-ep").variant("canary").weight == 0

        wait_until(rolled_back, timeout=30, what="guardrail rollback")
        assert codes[500] >= 1 and codes[200] >= 1
        wait_until(lambda: all(serves(c, variant="production") for _ in range(30)), timeout=10, what="swap")
    last = serving.history(ws, "ctr-ep", limit=1)[0]
    assert last["action"] == "guardrail" and last["principal"] == "guardrail"
    assert "error rate" in last["detail"]["reason"]
    alert = list_alerts(ws, source="serving", limit=1)[0]
    assert "canary" in alert.title and "ctr v3" in alert.title


def test_metrics_per_variant(served: Served) -> None:
    with served.client() as c:
        text = c.get("/metrics").text
    assert 'mloop_requests_total{code="200",endpoint="ctr-ep",model="ctr",variant="production",version="1"}' in text
    assert 'code="500"' in text and 'variant="canary"' in text
    assert "mloop_request_latency_seconds_bucket" in text
