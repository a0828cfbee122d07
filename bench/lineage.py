"""Lineage API latency (issue 7): `GET /lineage` for a 10-step pipeline with 1,000 past runs
and 50 artifacts (target p99 <= 50 ms warm), and a model version's upstream query (<= 20 ms).

The latest run is a real execution of a 10-step pipeline (5 outputs per step = 50 artifacts);
999 older runs are copies of its records with earlier timestamps (as re-runs with cached steps
leave them: the same digests, new rows). The control plane runs as a real `mloop server` process on a
free port; requests go over HTTP with keep-alive. Prints a table and writes
bench/results/lineage.json.

    .venv/bin/python bench/lineage.py [--requests 300] [--runs 1000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.support.servers import free_port, port_open, wait_until  # noqa: E402

from mloop.pipelines import pipeline, step  # noqa: E402

STEPS = 10
OUTPUTS = [f"o{j}" for j in range(5)]


def _make_step(i: int) -> Any:
    def fn(x: Any) -> tuple[dict, dict, dict, dict, dict]:
        return tuple({"step": i, "out": j, "x": str(x)[:20]} for j in range(5))  # type: ignore[return-value]

    fn.__name__ = fn.__qualname__ = f"bench_step_{i}"
    return step(name=f"s{i}", outputs=OUTPUTS, kind="Training" if i == STEPS - 3 else "Processing")(fn)


BENCH_STEPS = [_make_step(i) for i in range(STEPS)]


def _chain(n: int = 5) -> None:
    x: Any = n
    for s in BENCH_STEPS:
        x = s(x)[0]


chain = pipeline(name="bench-lineage")(_chain)


def copy_past_runs(ws: Any, run_id: str, count: int) -> None:
    """`count` older runs with the records of `run_id` (one transaction)."""
    from sqlalchemy import select

    from mloop.pipelines.tables import artifact_uses, artifacts, pipeline_runs, step_runs

    with ws.db.begin() as conn:
        run = dict(conn.execute(select(pipeline_runs).where(pipeline_runs.c.id == run_id)).one()._mapping)
        steps = [dict(r._mapping) for r in conn.execute(select(step_runs).where(step_runs.c.run_id == run_id))]
        ids = [s["id"] for s in steps]
        produced = artifacts.c.producer_step_run_id.in_(ids)
        arts = [dict(r._mapping) for r in conn.execute(select(artifacts).where(produced))]
        used = artifact_uses.c.step_run_id.in_(ids)
        uses = [dict(r._mapping) for r in conn.execute(select(artifact_uses).where(used))]
        base = datetime.now(UTC) - timedelta(days=30)
        for k in range(count):
            at = base + timedelta(minutes=k)
            new_id = f"bench-past-{k:05d}"
            conn.execute(pipeline_runs.insert().values(
                {**run, "id": new_id, "created_at": at, "started_at": at, "finished_at": at + timedelta(seconds=9)}))
            step_map, art_map = {}, {}
            for s in steps:
                row = {**s, "run_id": new_id, "started_at": at, "finished_at": at + timedelta(seconds=1)}
                del row["id"]
                step_map[s["id"]] = conn.execute(step_runs.insert().values(row)).inserted_primary_key[0]
            for a in arts:
                row = {**a, "producer_step_run_id": step_map[a["producer_step_run_id"]], "created_at": at}
                del row["id"]
                art_map[a["id"]] = conn.execute(artifacts.insert().values(row)).inserted_primary_key[0]
            conn.execute(artifact_uses.insert(), [
                {"artifact_id": art_map[u["artifact_id"]], "step_run_id": step_map[u["step_run_id"]],
                 "input_name": u["input_name"]} for u in uses])


def register_version(ws: Any, run_id: str) -> None:
    """A registry record for the model of the last step (as the register step writes it)."""
    from mloop.registry.tables import registry_audit, registry_versions

    now = datetime.now(UTC)
    with ws.db.begin() as conn:
        conn.execute(registry_versions.insert().values(
            name="bench-model", version=1, status="Approved", model_uri="models:/bench-model/1",
            source="models:/m-bench", run_id=None, metrics={"auc": 0.8},
            meta={"pipeline_run_id": run_id, "step": f"s{STEPS - 1}"}, created_at=now,
            registered_by="bench", decided_by="bench", decided_at=now, comment="ok"))
        conn.execute(registry_audit.insert(), [
            {"name": "bench-model", "version": 1, "from_status": None, "to_status": "PendingManualApproval",
             "principal": "bench", "at": now, "comment": None},
            {"name": "bench-model", "version": 1, "from_status": "PendingManualApproval", "to_status": "Approved",
             "principal": "bench", "at": now, "comment": "ok"}])


def serve(root: Path, database_url: str | None) -> tuple[subprocess.Popen[bytes], int]:
    """`mloop server` in its own process (a client in the same process would share its GIL)."""
    port = free_port()
    env = {**os.environ, "MLOOP_WORKSPACE": str(root), "MLOOP_LOG_LEVEL": "WARNING"}
    if database_url:
        env["MLOOP_DATABASE_URL"] = database_url
    proc = subprocess.Popen([sys.executable, "-m", "mloop", "server", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: port_open(port), timeout=60, what="control plane")
    return proc, port


def measure(client: httpx.Client, url: str, n: int) -> dict[str, float]:
    for _ in range(20):  # warm: probe cache, SQLAlchemy statement cache, connections
        assert client.get(url).status_code == 200
    times = []
    for _ in range(n):
        t = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200
    times.sort()
    return {"p50_ms": round(statistics.median(times), 2), "p99_ms": round(times[int(len(times) * 0.99) - 1], 2),
            "mean_ms": round(statistics.fmean(times), 2), "requests": n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    from mloop import lineage
    from mloop.config import init_workspace
    from mloop.pipelines import run_pipeline
    from mloop.store import open_workspace

    root = Path(tempfile.mkdtemp(prefix="mloop-bench-lineage-"))
    init_workspace(root)
    ws = open_workspace(root, **({"database_url": args.database_url} if args.database_url else {}))
    record = run_pipeline(ws, chain, {"n": 5}, tracking=False)
    started = time.perf_counter()
    copy_past_runs(ws, record.id, args.runs - 1)
    latest = run_pipeline(ws, chain, {"n": 5}, tracking=False)  # the newest run: cached steps
    register_version(ws, latest.id)
    setup_s = time.perf_counter() - started
    data = lineage.pipeline(ws, "bench-lineage")
    assert len(data["graph"]["nodes"]) == STEPS and len(data["graph"]["artifacts"]) == STEPS * len(OUTPUTS)

    proc, port = serve(root, args.database_url)
    rows = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            rows.append({"query": "GET /lineage?pipeline=bench-lineage&includeLatestExec=true", "target_p99_ms": 50,
                         **measure(client, "/lineage?pipeline=bench-lineage&includeLatestExec=true", args.requests)})
            rows.append({"query": "GET /lineage/models/bench-model/1", "target_p99_ms": 20,
                         **measure(client, "/lineage/models/bench-model/1", args.requests)})
            rows.append({"query": "GET /healthz (HTTP + one DB round trip: the floor)", "target_p99_ms": None,
                         **measure(client, "/healthz", args.requests)})
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    t = time.perf_counter()
    for _ in range(100):
        lineage.model(ws, "bench-model", 1)
    lib_model_ms = (time.perf_counter() - t) * 10
    t = time.perf_counter()
    for _ in range(100):
        lineage.pipeline(ws, "bench-lineage")
    lib_pipeline_ms = (time.perf_counter() - t) * 10
    from mloop.lineage.graph import clear_answers

    t = time.perf_counter()
    for _ in range(100):
        clear_answers()  # every call rebuilds the answer from the records (probes stay cached)
        lineage.pipeline(ws, "bench-lineage")
    lib_uncached_ms = (time.perf_counter() - t) * 10

    print(f"{'query':<62} {'p50 ms':>8} {'p99 ms':>8} {'target':>8}")
    for row in rows:
        target = row["target_p99_ms"]
        ok = "" if target is None else "ok" if row["p99_ms"] <= target else "MISSED"
        print(f"{row['query']:<62} {row['p50_ms']:>8} {row['p99_ms']:>8} {target or '-':>6} {ok}")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (numbers are only comparable when idle)")
    print(f"library: lineage.pipeline {lib_pipeline_ms:.2f} ms/call (answer cache), {lib_uncached_ms:.2f} ms/call "
          f"(rebuilt from the records), lineage.model {lib_model_ms:.2f} ms/call")
    result = {
        "runs": args.runs, "steps": STEPS, "artifacts": STEPS * len(OUTPUTS), "database": ws.db.dialect,
        "setup_s": round(setup_s, 1), "http": rows,
        "library_ms": {"pipeline": round(lib_pipeline_ms, 2), "pipeline_uncached": round(lib_uncached_ms, 2),
                       "model": round(lib_model_ms, 2)},
        "at": datetime.now(UTC).isoformat(), "load_average_1m": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
    }
    out = ROOT / "bench" / "results" / "lineage.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    ws.close()


if __name__ == "__main__":
    main()
