"""Eight keep-alive clients of a two-worker `mloop serve` end up four on each worker, losing nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import psutil

from tests.integration.serving.conftest import Served, mloop, start_server, stop
from tests.support.servers import wait_until


def _connections_per_worker(server_pid: int, port: int) -> list[int]:
    counts = []
    for child in psutil.Process(server_pid).children(recursive=True):
        try:
            established = [c for c in child.net_connections("tcp")
                           if c.laddr and c.laddr.port == port and c.status == psutil.CONN_ESTABLISHED]
        except psutil.NoSuchProcess:
            continue
        if established:
            counts.append(len(established))
    return sorted(counts)


def test_keep_alive_connections_spread_evenly_over_the_workers(served: Served) -> None:
    assert mloop(served.root, "deploy", "balance-ep", "--model", "ctr", "--version", "1").returncode == 0
    proc, port = start_server(served.root, "balance-ep", "--workers", "2")
    url = f"http://127.0.0.1:{port}"
    clients = [httpx.Client(base_url=url, timeout=10.0) for _ in range(8)]
    try:
        # each fresh connection lands on either worker: twenty 200s in a row mean both have loaded
        wait_until(lambda: all(httpx.get(f"{url}/ping", timeout=2).status_code == 200 for _ in range(20)),
                   timeout=60, what="both workers loaded")
        body = {"instances": [[35.0, "ios", 9.0, 0.4]] * 20}

        def send(client: httpx.Client) -> list[int]:
            return [client.post("/v1/models/balance-ep:predict", json=body).status_code for _ in range(100)]

        with ThreadPoolExecutor(8) as pool:
            statuses = [s for batch in pool.map(send, clients) for s in batch]
        assert statuses == [200] * 800  # a handed-back connection loses and repeats no request
        assert _connections_per_worker(proc.pid, port) == [4, 4]
    finally:
        for client in clients:
            client.close()
        stop(proc)
