"""A shadow never changes what a caller gets, and a stuck shadow never holds a caller up.

The shadow here is real serving code (handler, tap, worker thread) around small in-process
models: one that answers, one that raises, one that returns the wrong number of rows, one that
is slow and one that blocks until released.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mloop.serving.runtime.live import LiveEndpoint, Shadow, make_deployment, make_variant
from mloop.serving.runtime.served_model import ServedModel
from mloop.serving.runtime.shadow_tap import ShadowTap, hand_to_shadows
from mloop.serving.server import handler
from mloop.serving.server.app import create_app
from mloop.serving.server.metrics import ServerMetrics
from tests.support.servers import wait_until
from tests.support.uvicorn_thread import running

FEATURES = ["age", "device", "hour", "score"]


def model(name: str, version: int, predict: Callable[[list[Any]], list[Any]]) -> ServedModel:
    return ServedModel(name, version, f"file:///{name}-{version}", predict, FEATURES,
                       {"task": "classification"}, "test")


def live_scores(rows: list[Any]) -> list[float]:
    out = []
    for row in rows:
        values = list(row.values()) if isinstance(row, dict) else list(row)
        if len(values) != len(FEATURES):
            raise ValueError(f"{len(values)} values, expected {len(FEATURES)}")  # a model's own failure
        out.append(round(sum(len(str(v)) for v in values) / 100, 4))
    return out


def raising(rows: list[Any]) -> list[float]:
    raise RuntimeError("the shadow is broken")


def wrong_length(rows: list[Any]) -> list[float]:
    return [0.5] * (len(rows) + 3)


def slow(rows: list[Any]) -> list[float]:
    time.sleep(0.002)
    return [0.9] * len(rows)


def endpoint(shadow: Callable[[list[Any]], list[Any]] | None, *, capacity: int = 1000,
             metrics: ServerMetrics | None = None) -> LiveEndpoint:
    """An endpoint with production v1 and, when given, a shadow v2 sampling every request."""
    live = LiveEndpoint(ws=None, name="ctr", loader=None, metrics=metrics)
    prod = make_variant("production", 100, model("ctr", 1, live_scores))
    shadows = () if shadow is None else (Shadow(make_variant("shadow", 0, model("ctr", 2, shadow)), 1.0),)
    live.current = make_deployment(1, [prod], "ctr", shadows=shadows)
    if shadows:
        live.tap = ShadowTap(None, "ctr", metrics, capacity=capacity)
    return live


CELLS = st.one_of(st.integers(-5, 200), st.floats(allow_nan=False, allow_infinity=False, width=32),
                  st.sampled_from(["ios", "web", "", "Zoë", "1e3", "null"]), st.none())
# mostly records the model takes (four values), some it refuses (its own failure: a 500)
ROW = st.one_of(*[st.lists(CELLS, min_size=4, max_size=4)] * 3, st.lists(CELLS, min_size=1, max_size=6))


@st.composite
def requests(draw: st.DrawFn) -> handler.Request:
    """Valid and invalid requests of every protocol (CSV, JSON records, V1, V2, garbage)."""
    import orjson

    rows = draw(st.lists(ROW, min_size=1, max_size=4))
    kind = draw(st.sampled_from(["csv", "json", "v1", "v2", "garbage"]))
    if kind == "csv":
        body = "\n".join(",".join("" if v is None else str(v) for v in r) for r in rows).encode()
        return handler.Request(handler.SAGEMAKER, body, "text/csv")
    if kind == "json":
        return handler.Request(handler.SAGEMAKER, orjson.dumps({"instances": rows}), "application/json")
    if kind == "v1":
        return handler.Request(handler.V1, orjson.dumps({"instances": rows}), "application/json", model="ctr")
    if kind == "v2":
        flat = [None if v is None else str(v) for r in rows for v in r]
        doc = {"id": draw(st.text(max_size=8)), "inputs": [{"name": "x", "shape": [len(rows), len(rows[0])],
                                                             "datatype": "BYTES", "data": flat}]}
        return handler.Request(handler.V2, orjson.dumps(doc), "application/json", model="ctr")
    return handler.Request(handler.SAGEMAKER, draw(st.binary(max_size=40)), draw(st.sampled_from(
        ["text/csv", "application/json", "image/png"])))


def same_request(req: handler.Request) -> handler.Request:
    return handler.Request(req.protocol, req.body, req.content_type, req.accept, model=req.model)


@pytest.fixture(scope="module")
def pairs() -> Iterator[dict[str, tuple[LiveEndpoint, LiveEndpoint]]]:
    plain = endpoint(None)
    made = {name: (plain, endpoint(fn)) for name, fn in
            {"answers": lambda rows: [0.1] * len(rows), "raises": raising, "wrong_length": wrong_length,
             "slow": slow}.items()}
    yield made
    for _, shadowed in made.values():
        assert shadowed.tap is not None
        shadowed.tap.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(req=requests(), which=st.sampled_from(["answers", "raises", "wrong_length", "slow"]))
def test_a_shadow_never_changes_a_response(pairs: dict[str, tuple[LiveEndpoint, LiveEndpoint]],
                                           req: handler.Request, which: str) -> None:
    plain, shadowed = pairs[which]
    expected = handler.predict(plain, None, same_request(req))
    copy = same_request(req)
    got = handler.predict(shadowed, None, copy)
    hand_to_shadows(shadowed, copy)
    assert got[:3] == expected[:3]  # status, body, content type
    assert got[3] == expected[3]  # and the headers: nothing says a shadow exists
    assert (copy.shadow_copy is None)  # handed over (or never made, for a failed request)


def test_shadows_get_only_requests_the_live_variant_answered() -> None:
    live = endpoint(lambda rows: [0.1] * len(rows))
    ok = handler.Request(handler.SAGEMAKER, b"25,ios,3,0.5\n", "text/csv")
    bad = handler.Request(handler.SAGEMAKER, b"not,a,record", "text/csv")
    assert handler.predict(live, None, ok)[0] == 200 and ok.shadow_copy is not None
    assert handler.predict(live, None, bad)[0] >= 400 and bad.shadow_copy is None
    assert live.tap is not None
    live.tap.close()


class Gate:
    """A shadow model that blocks inside `predict` until released."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.entered = threading.Event()

    def predict(self, rows: list[Any]) -> list[float]:
        self.entered.set()
        self.open.wait(30)
        return [0.5] * len(rows)


def test_a_full_queue_drops_and_counts_and_the_metrics_show_it() -> None:
    gate = Gate()
    metrics = ServerMetrics("ctr")
    live = endpoint(gate.predict, capacity=2, metrics=metrics)
    assert live.tap is not None

    def one() -> handler.Request:
        req = handler.Request(handler.SAGEMAKER, b"25,ios,3,0.5\n", "text/csv")
        assert handler.predict(live, None, req)[0] == 200
        return req

    hand_to_shadows(live, one())
    assert gate.entered.wait(10)  # the worker holds the first copy inside the shadow's model
    accepted = [live.tap.submit(one().shadow_copy) for _ in range(9)]
    assert accepted == [True, True] + [False] * 7
    assert live.tap.dropped == 7
    gate.open.set()
    assert live.tap.wait_idle(10)
    text = metrics.render()[0].decode()
    assert 'mloop_shadow_dropped_total{endpoint="ctr",variant="shadow"} 7.0' in text
    labels = 'endpoint="ctr",model="ctr",outcome="ok",variant="shadow",version="2"'
    assert f"mloop_shadow_requests_total{{{labels}}} 3.0" in text
    live.tap.close()


def test_a_stuck_shadow_holds_up_no_caller_of_a_real_server() -> None:
    """50 requests through a real uvicorn server while the shadow is blocked: all answered."""
    gate = Gate()
    live = endpoint(gate.predict, capacity=4)
    app = create_app(None, "ctr", live=live)
    with running(app) as url, httpx.Client(base_url=url, timeout=5.0) as client:
        try:
            answers = [client.post("/invocations", content=b"25,ios,3,0.5\n",
                                   headers={"content-type": "text/csv"}) for _ in range(50)]
            assert [r.status_code for r in answers] == [200] * 50
            assert {r.headers["x-mloop-variant"] for r in answers} == {"production"}
            v1 = client.post("/v1/models/ctr:predict", json={"instances": [[25, "ios", 3, 0.5]]})
            assert v1.status_code == 200 and v1.headers["x-mloop-variant"] == "production"
            assert gate.entered.is_set()
            assert live.tap is not None and live.tap.dropped > 0
            assert live.tap.dropped + live.tap.submitted == 51  # every copy queued or counted
        finally:
            gate.open.set()  # before the server stops: its shutdown finishes the shadow's queue


def test_a_shadow_cannot_be_targeted_by_name() -> None:
    live = endpoint(lambda rows: [0.1] * len(rows))
    live.target_gate.allow_all = True
    req = handler.Request(handler.SAGEMAKER, b"25,ios,3,0.5\n", "text/csv", target="shadow")
    status, _body, _ctype, headers = handler.predict(live, None, req)
    assert status == 200 and (b"x-mloop-variant", b"production") in headers
    assert live.tap is not None
    live.tap.close()


def test_the_documented_fastapi_routes_feed_shadows_too() -> None:
    """With the raw front off (`fast=False`), the FastAPI routes answer and hand over after sending."""
    live = endpoint(lambda rows: [0.1] * len(rows))
    app = create_app(None, "ctr", live=live, fast=False)
    with running(app) as url, httpx.Client(base_url=url, timeout=5.0) as client:
        answers = [client.post("/invocations", content=b"25,ios,3,0.5\n", headers={"content-type": "text/csv"}),
                   client.post("/v1/models/ctr:predict", json={"instances": [[25, "ios", 3, 0.5]]}),
                   client.post("/endpoints/ctr/invocations", content=b"25,ios,3,0.5\n",
                               headers={"content-type": "text/csv"})]
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert live.tap is not None
        tap = live.tap
        wait_until(lambda: tap.submitted == 3, timeout=10, what="three copies handed over")  # after the send
        assert tap.wait_idle(10) and tap.dropped == 0
