"""Micro-batching: concurrent requests share one model call and still get their own answers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest

from mloop.serving import create_app
from mloop.serving.runtime.live import static_endpoint
from mloop.serving.runtime.served_model import load_served
from tests.support.serving import train

ROWS = [[25, "ios", h, s / 10] for h in range(6) for s in range(-3, 3)]


@pytest.fixture(scope="module")
def model_and_app(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    model = train(n_estimators=10)
    path = model.save(tmp_path_factory.mktemp("m") / "m")
    served = load_served(Path(path), "ctr", 1, f"file://{path}")
    return model, create_app(None, "ctr", live=static_endpoint("ctr", served))


async def call(app, body: bytes, ctype: bytes = b"application/json") -> tuple[int, bytes]:  # type: ignore[no-untyped-def]
    """One request straight into the ASGI app, as uvicorn hands a fully-read request over."""
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/invocations", "headers": [(b"content-type", ctype)]}
    await app(scope, receive, send)
    return sent[0]["status"], sent[1]["body"]


def run_all(app, bodies: list[tuple[bytes, bytes]]) -> list[tuple[int, bytes]]:  # type: ignore[no-untyped-def]
    async def main() -> list[tuple[int, bytes]]:
        return await asyncio.gather(*(call(app, body, ctype) for body, ctype in bodies))

    return asyncio.run(main())


def test_concurrent_requests_share_a_call_and_match_alone(model_and_app) -> None:  # type: ignore[no-untyped-def]
    model, app = model_and_app
    expected = model.predict_records(ROWS).tolist()
    good = [(orjson.dumps({"instances": [row]}), b"application/json") for row in ROWS]
    before = app.batcher.batched_requests
    answers = run_all(app, good)
    assert [orjson.loads(body)["predictions"][0] for _, body in answers] == pytest.approx(expected, abs=1e-6)
    assert app.batcher.batched_requests - before == len(ROWS)


def test_a_bad_request_never_fails_its_batch_neighbours(model_and_app) -> None:  # type: ignore[no-untyped-def]
    _model, app = model_and_app
    bodies = [(orjson.dumps({"instances": [row]}), b"application/json") for row in ROWS[:5]]
    answers = run_all(app, [*bodies, (b"1,ios,abc,0", b"text/csv")])
    assert [status for status, _ in answers] == [200] * 5 + [400]
    assert "expects a number" in orjson.loads(answers[-1][1])["message"]
