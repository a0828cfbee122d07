"""A real `mloop serve` subprocess on a free port, over a workspace with registered models."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.cli import cli_env
from tests.support.servers import free_port, port_open, stop_process, wait_until
from tests.support.serving import broken_model_file, publish, train


def mloop(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mloop", *args], env=cli_env(root), capture_output=True,
                          text=True, timeout=120)


@dataclass
class Served:
    root: Path
    ws: Any
    url: str
    port: int
    proc: subprocess.Popen[bytes]
    models: dict[int, Any] = field(default_factory=dict)  # version -> in-process TabularModel
    tmp: Path = Path()

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10.0)


def start_server(root: Path, endpoint: str, *extra: str,
                 env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    log = open(root / f"serve-{port}.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen([sys.executable, "-m", "mloop", "serve", endpoint, "--port", str(port),
                             "--poll-interval", "0.2", *extra],
                            env={**cli_env(root), **(env or {})}, stdout=log, stderr=log)
    wait_until(lambda: port_open(port) or proc.poll() is not None, timeout=60, what="mloop serve")
    if proc.poll() is not None:
        raise RuntimeError((root / f"serve-{port}.log").read_text())
    return proc, port


def stop(proc: subprocess.Popen[bytes]) -> None:
    stop_process(proc, timeout=15)


@pytest.fixture(scope="package")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Endpoint `ctr-ep` served before any deploy; model `ctr` v1, v2 (Approved), v3 broken (Approved)."""
    from mloop.config import init_workspace
    from mloop.store import open_workspace

    tmp = tmp_path_factory.mktemp("serving")
    root = tmp / "ws"
    init_workspace(root)
    ws = open_workspace(root)
    models = {1: train(seed=1), 2: train(seed=2)}
    publish(ws, "ctr", models[1], tmp)
    publish(ws, "ctr", models[2], tmp)
    publish(ws, "ctr", broken_model_file(tmp), tmp)
    proc, port = start_server(root, "ctr-ep")
    try:
        yield Served(root, ws, f"http://127.0.0.1:{port}", port, proc, models, tmp)
    finally:
        stop(proc)
        ws.close()
