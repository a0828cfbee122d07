"""One client cannot stall the others: big requests are predicted off the event loop.

A real uvicorn server (the model server's app, its read-timeout protocol) serves a model whose
big-batch predictions wait on a gate; while two 5 MB requests are held inside the model, a
single-row probe must be answered. On the event loop, the first big request would hold the loop
and neither the second one nor the probe would get in.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mloop.serving import create_app
from mloop.serving.runtime.live import static_endpoint
from mloop.serving.runtime.served_model import ServedModel
from tests.support.uvicorn_thread import running

ROW = b"25,ios,3,0.5\n"
BIG = (b"25," + b"i" * 500 + b",3,0.5\n") * 10_000  # 5 MB of CSV (long values: quick to parse)


class GatedModel:
    """Small batches answer at once; big ones report that they started and wait for the gate."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.inside = 0
        self.changed = threading.Condition()

    def predict(self, rows: list[Any]) -> list[float]:
        if len(rows) < 1000:
            return [0.25] * len(rows)
        with self.changed:
            self.inside += 1
            self.changed.notify_all()
        self.gate.wait(20)
        return [0.5] * len(rows)

    def wait_inside(self, n: int, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.inside >= n, timeout)


@pytest.fixture
def gated() -> Iterator[tuple[str, GatedModel]]:
    model = GatedModel()
    served = ServedModel("ctr", 1, "file:///gated", model.predict, ["age", "device", "hour", "score"],
                         {"inputs": []}, "test")
    app = create_app(None, "ctr", live=static_endpoint("ctr", served))
    try:
        with running(app) as url:
            yield url, model
    finally:
        model.gate.set()


def test_a_probe_is_answered_while_two_big_bodies_are_in_the_model(gated: tuple[str, GatedModel]) -> None:
    url, model = gated
    answers: dict[int, httpx.Response] = {}

    def send(i: int) -> None:
        answers[i] = httpx.post(f"{url}/invocations", content=BIG, headers={"content-type": "text/csv"},
                                timeout=60)

    senders = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for t in senders:
        t.start()
    try:
        assert model.wait_inside(2, timeout=30), "both big requests should be predicting at the same time"
        probe = httpx.post(f"{url}/invocations", content=ROW, headers={"content-type": "text/csv"}, timeout=10)
        assert probe.status_code == 200 and probe.json()["predictions"] == [0.25]
        assert not answers, "the big requests are still held in the model"
    finally:
        model.gate.set()
        for t in senders:
            t.join(60)
    assert [answers[i].status_code for i in (0, 1)] == [200, 200]
    assert all(len(answers[i].json()["predictions"]) == 10_000 for i in (0, 1))


def test_small_and_big_requests_answer_the_same(gated: tuple[str, GatedModel]) -> None:
    """The threshold changes where a request runs, never what it answers (errors included)."""
    url, model = gated
    model.gate.set()
    rows = ROW * 1300  # above offload_bytes: a worker thread
    ok = httpx.post(f"{url}/invocations", content=rows, headers={"content-type": "text/csv"})
    assert ok.status_code == 200 and ok.json()["predictions"] == [0.5] * 1300
    cut = b'{"instances": [' + b'[25, "ios", 3, 0.5], ' * 1300  # above the threshold, not JSON
    bad = httpx.post(f"{url}/invocations", content=cut, headers={"content-type": "application/json"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_input"
    big_v1 = httpx.post(f"{url}/v1/models/ctr:predict", json={"instances": [[25, "ios", 3, 0.5]] * 1300})
    assert big_v1.status_code == 200 and len(big_v1.json()["predictions"]) == 1300


def test_very_large_requests_answer_from_a_worker_process_like_the_server(tmp_path: Any) -> None:
    """Above `process_bytes` a worker process parses and predicts: same predictions, same input
    report and errors, the variant's headers, and the server's metrics count the request."""
    from pathlib import Path

    from mloop.serving.runtime.served_model import load_served
    from tests.support.serving import train

    model = train(n_estimators=5)
    path = model.save(tmp_path / "m")
    served = load_served(Path(path), "ctr", 1, f"file://{path}")
    app = create_app(None, "ctr", live=static_endpoint("ctr", served))
    app.offload.bulk.min_bytes = 20_000  # small, so the test's bodies are "very large"
    rows = [[25 + i % 40, ("ios", "web", "android", "fridge")[i % 4], i % 24, (i % 7) / 7 - 0.5] for i in range(2000)]
    csv = "".join(f"{a},{d},{h},{s}\n" for a, d, h, s in rows).encode()
    assert len(csv) > 20_000
    with running(app) as url:
        big = httpx.post(f"{url}/invocations", content=csv, headers={"content-type": "text/csv"}, timeout=120)
        assert big.status_code == 200, big.text
        assert app.offload.bulk.sent == 1
        expected = served.predict(rows)
        assert max(abs(a - b) for a, b in zip(big.json()["predictions"], expected, strict=True)) < 1e-9
        assert big.json()["input_issues"]["by_feature"]["device"] == {"unknown_category": 500}  # "fridge"
        assert big.headers["x-mloop-model-version"] == "1" and "device:unknown_category=500" in \
            big.headers["x-mloop-input-issues"]
        broken = csv.replace(b"25,", b"abc,", 1)
        refused = httpx.post(f"{url}/invocations", content=broken, headers={"content-type": "text/csv"}, timeout=60)
        assert refused.status_code == 400 and "expects a number, got 'abc'" in refused.json()["message"]
        assert app.offload.bulk.sent == 2
        metrics = httpx.get(f"{url}/metrics").text
        assert 'mloop_requests_total{code="200",endpoint="ctr",model="ctr",variant="production",version="1"} 1.0' \
            in metrics


def test_requests_answered_by_the_worker_process_reach_the_shadows(tmp_path: Any) -> None:
    from pathlib import Path

    from mloop.serving.runtime.live import LiveEndpoint, Shadow, make_deployment, make_variant
    from mloop.serving.runtime.served_model import load_served
    from mloop.serving.runtime.shadow_tap import ShadowTap
    from tests.support.servers import wait_until
    from tests.support.serving import train

    path = train(n_estimators=5).save(tmp_path / "m")
    production = load_served(Path(path), "ctr", 1, f"file://{path}")
    shadow = ServedModel("ctr", 2, "file:///shadow", lambda rows: [0.1] * len(rows),
                         ["age", "device", "hour", "score"], {}, "test")
    live = LiveEndpoint(ws=None, name="ctr", loader=None)
    live.current = make_deployment(1, [make_variant("production", 100, production)], "ctr",
                                   shadows=(Shadow(make_variant("shadow", 0, shadow), 1.0),))
    live.tap = tap = ShadowTap(None, "ctr", None)
    app = create_app(None, "ctr", live=live)
    app.offload.bulk.min_bytes = 20_000
    csv = b"25,ios,3,0.5\n" * 2000
    try:
        with running(app) as url:
            for route in ("/invocations", "/endpoints/ctr/invocations"):
                answer = httpx.post(f"{url}{route}", content=csv, headers={"content-type": "text/csv"}, timeout=120)
                assert answer.status_code == 200, answer.text
            assert app.offload.bulk.sent == 2
            wait_until(lambda: tap.submitted == 2, timeout=30, what="both copies handed to the shadow")
            assert tap.wait_idle(30) and tap.dropped == 0
    finally:
        tap.close()


def test_the_worker_process_ends_with_its_server_even_when_the_server_is_killed() -> None:
    """A server that stops without shutting its pool down (SIGKILL, a crash) leaves no worker behind."""
    import subprocess
    import sys

    import psutil

    from tests.support.servers import wait_until

    # A process that inherited the server's descriptors (here `sleep`) keeps the worker's pipe open,
    # so the worker never reads an end of file: only watching its parent ends it.
    code = ("import os, subprocess, psutil\nfrom mloop.serving.server.bulk import BulkPool\nBulkPool(1).start()\n"
            "pids = [c.pid for c in psutil.Process().children(recursive=True)]\n"
            "holder = subprocess.Popen(['sleep', '60'], close_fds=False, stdout=subprocess.DEVNULL)\n"
            "print(holder.pid, *pids, flush=True)\nos._exit(0)\n")
    done = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          text=True, timeout=120)
    holder, *pids = [int(p) for p in done.stdout.split()]
    assert pids

    def gone() -> bool:
        return not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in pids)

    try:
        wait_until(gone, timeout=30, what="the orphaned worker process to exit")
    finally:
        if psutil.pid_exists(holder):
            psutil.Process(holder).kill()
