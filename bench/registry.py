"""Registry and tracking latencies on the embedded stores (SQLite metadata + SQLite MLflow).

What users wait for: `register` (MLflow version + audit), `approve` (row lock + audit + MLflow
tag mirror), `latest_approved` (what deploys and followers resolve), `versions`, and the
tracking calls a pipeline makes (start a run, log metrics). Prints a table and writes
bench/results/registry.json.

    .venv/bin/python bench/registry.py [--n 50]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _time(fn: Callable[[int], Any], n: int) -> dict[str, float]:
    samples = []
    for i in range(n):
        started = time.perf_counter()
        fn(i)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {"n": n, "median_ms": round(statistics.median(samples), 3),
            "p95_ms": round(samples[int(0.95 * (n - 1))], 3)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=50)
    n = parser.parse_args().n
    from mloop import registry, tracking
    from mloop.config import init_workspace
    from mloop.store import open_workspace

    root = Path(tempfile.mkdtemp(prefix="mloop-bench-registry-"))
    init_workspace(root)
    ws = open_workspace(root, registry__require_comment=False)
    started = time.perf_counter()
    registry.register(ws, "warmup", "s3://b/m")  # creates the MLflow store (migrations)
    first_use = (time.perf_counter() - started) * 1000
    results: dict[str, Any] = {"first_use_ms (creates the MLflow store)": {"n": 1, "median_ms": round(first_use, 1),
                                                                           "p95_ms": round(first_use, 1)}}
    results["register"] = _time(lambda i: registry.register(ws, "m", "s3://b/m", metrics={"auc": 0.9}), n)
    results["approve"] = _time(lambda i: registry.approve(ws, "m", i + 1), n)
    results["latest_approved"] = _time(lambda i: registry.latest_approved(ws, "m"), n)
    results["get_version"] = _time(lambda i: registry.get_version(ws, "m", i + 1), n)
    results[f"versions ({n} versions)"] = _time(lambda i: registry.versions(ws, "m"), n)

    def run_with_metrics(i: int) -> None:
        with tracking.start_run(ws, experiment="bench") as run:
            run.log_metrics({"auc": 0.9, "logloss": 0.3})

    results["start_run + log_metrics + end"] = _time(run_with_metrics, n)
    print(f"{'operation':<44} {'n':>4} {'median ms':>10} {'p95 ms':>9}")
    for name, row in results.items():
        print(f"{name:<44} {row['n']:>4} {row['median_ms']:>10.2f} {row['p95_ms']:>9.2f}")
    out = ROOT / "bench" / "results" / "registry.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"python": sys.version.split()[0], "results": results}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
