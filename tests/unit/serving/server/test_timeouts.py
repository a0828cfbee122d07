"""Slow clients are closed, not waited for, on all three servers (slowloris).

Each server runs in uvicorn with mloop's options and a 0.5 s read timeout; a client that never
sends a byte, one that stops in the middle of its headers and one that stops in the middle of its
body are all disconnected by the server, while a normal client is still answered. The waits
below are reads that return when the server closes the connection (bounded by a socket timeout).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.uvicorn_thread import running

TIMEOUT_S = 0.5


def closed_by_server(url: str, *first_bytes: bytes) -> list[float]:
    """Open one connection per `first_bytes`, send them, then nothing: seconds until each is closed."""
    host, port = url.removeprefix("http://").split(":")
    socks = [socket.create_connection((host, int(port))) for _ in first_bytes]
    started = time.monotonic()
    waited = []
    try:
        for sock, data in zip(socks, first_bytes, strict=True):
            sock.settimeout(10)
            if data:
                sock.sendall(data)
        for sock in socks:
            received = b""
            while chunk := sock.recv(65536):  # b"" once the server has closed its side
                received += chunk
            assert b"200 OK" not in received
            waited.append(time.monotonic() - started)
    finally:
        for sock in socks:
            sock.close()
    return waited


def model_server(_root: Path) -> Any:
    from mloop.serving import create_app
    from mloop.serving.runtime.live import static_endpoint
    from mloop.serving.runtime.served_model import ServedModel

    model = ServedModel("m", 1, "file:///m", lambda rows: [0.5] * len(rows), ["a", "b"], {}, "test")
    return create_app(None, "m", live=static_endpoint("m", model))


def control_plane(root: Path) -> Any:
    from mloop.store import open_workspace
    from mloop.web import create_app

    return create_app(open_workspace(root))


def inference_app(root: Path) -> Any:
    from mloop.store import open_workspace
    from mloop.web.inference import create_inference_app

    return create_inference_app(open_workspace(root), endpoint="http://127.0.0.1:9")


SERVERS: dict[str, tuple[Callable[[Path], Any], str, bytes]] = {
    "model server": (model_server, "/ping", b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                            b"Content-Type: text/csv\r\nContent-Length: 100\r\n\r\n1,"),
    "control plane": (control_plane, "/healthz", b"POST /api/nothing HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                                 b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"),
    "inference app": (inference_app, "/healthz", b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                                 b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"),
}


@pytest.fixture(params=list(SERVERS))
def server(request: pytest.FixtureRequest, workspace_dir: Path) -> Iterator[tuple[str, str, bytes]]:
    build, health, partial_body = SERVERS[request.param]
    with running(build(workspace_dir), read_timeout_s=TIMEOUT_S) as url:
        yield url, health, partial_body


def test_slow_clients_are_closed_and_others_still_answered(server: tuple[str, str, bytes]) -> None:
    url, health, partial_body = server
    half_headers = b"GET " + health.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: "
    for waited in closed_by_server(url, b"", half_headers, partial_body):  # silent, headers, body
        assert TIMEOUT_S * 0.8 <= waited < 5, waited
    assert httpx.get(url + health, timeout=5).status_code == 200


def test_a_slow_model_is_not_a_slow_client(workspace_dir: Path) -> None:
    """The deadline covers reading the request only: an answer that takes longer still arrives."""
    import threading

    from mloop.serving import create_app
    from mloop.serving.runtime.live import static_endpoint
    from mloop.serving.runtime.served_model import ServedModel

    release = threading.Event()

    def slow(rows: list[Any]) -> list[float]:
        release.wait(TIMEOUT_S * 3)  # a model slower than the read timeout (in a worker thread)
        return [0.5] * len(rows)

    model = ServedModel("m", 1, "file:///m", slow, ["a", "b"], {}, "test")
    with running(create_app(None, "m", live=static_endpoint("m", model)), read_timeout_s=TIMEOUT_S) as url:
        r = httpx.post(url + "/invocations", content=b"1,2\n" * 1000, headers={"content-type": "text/csv"},
                       timeout=10)
    assert r.status_code == 200 and r.json()["predictions"] == [0.5] * 1000
