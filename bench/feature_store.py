"""Feature store benchmark: mloop vs Feast (when its venv exists), on this machine.

    .venv/bin/python bench/feature_store.py [--rows 1000000] [--big-gb 0] [--skip-feast]

Cases (each mloop case runs in its own subprocess so its peak RSS is its own):
  ingest        validated CSV ingest of ad_clicks(rows): as generated (ids in order), shuffled, offline-only
  training      point-in-time training set for 100k and 1M entity rows over `rows` events
  online        get_online of 1 and 100 ids, p50/p99, SQLite and Redis
  put_records   acknowledged rows/s: 1 writer x single-record calls, 1 writer x 100-record
                calls, 4 writer processes x single-record calls
  big_ingest    RSS of a CSV of --big-gb GB (skipped at 0)
Feast 0.67 runs the same training-set/online/write cases in /work/bench-venvs/feast
(bench/feast_side.py). Writes bench/results/feature_store.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results" / "feature_store.json"
FEAST_PY = Path("/work/bench-venvs/feast/bin/python")
REDIS_URL = os.environ.get("MLOOP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
N_IDS = 100_000


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _ws(root: Path, **overrides: str):  # type: ignore[no-untyped-def]
    from mloop.config import init_workspace
    from mloop.store import open_workspace

    init_workspace(root)
    return open_workspace(root, **overrides)


def events_frame(rows: int, seed: int = 1):  # type: ignore[no-untyped-def]
    """`rows` events over N_IDS ids in 30 days, with duplicate (id, time) pairs included."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    ids = rng.integers(0, N_IDS, rows)
    secs = rng.integers(0, 30 * 86400, rows)
    return pd.DataFrame({
        "user_id": ids,
        "event_time": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(secs, unit="s"),
        "f_float": rng.normal(size=rows), "f_int": rng.integers(0, 1000, rows),
        "f_str": rng.choice(np.array(["a", "b", "c", "d"], dtype=object), rows),
    })


def entities_frame(rows: int, seed: int = 2):  # type: ignore[no-untyped-def]
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "user_id": rng.integers(0, N_IDS, rows),
        "event_time": pd.Timestamp("2024-01-01", tz="UTC")
        + pd.to_timedelta(rng.integers(0, 31 * 86400, rows), unit="s"),
        "label": rng.integers(0, 2, rows),
    })


def events_spec(name: str = "events"):  # type: ignore[no-untyped-def]
    from mloop.features import Feature, FeatureGroupSpec

    return FeatureGroupSpec(name=name, record_identifier="user_id", event_time="event_time", features=[
        Feature(name="user_id", type="int"), Feature(name="event_time", type="timestamp"),
        Feature(name="f_float", type="float"), Feature(name="f_int", type="int"),
        Feature(name="f_str", type="string", allowed=["a", "b", "c", "d"]),
    ])


# ---------------------------------------------------------------- cases (run in subprocesses)

def case_ingest(work: Path, rows: int) -> dict:
    from mloop.features import create_group, ingest
    from mloop.recipes.datasets.ad_clicks import ad_clicks, ad_clicks_spec

    csv = work / f"ad_clicks_{rows}.csv"
    if not csv.exists():
        ad_clicks(rows, seed=3).to_csv(csv, index=False)
    base = peak_rss_mb()
    ws = _ws(work / "ws-ingest")
    create_group(ws, ad_clicks_spec("ads"))
    started, cpu = time.perf_counter(), time.process_time()
    report = ingest(ws, csv, "ads")
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    offline = _ws(work / "ws-ingest-offline")
    spec = ad_clicks_spec("ads")
    spec.online = False
    create_group(offline, spec)
    t0 = time.perf_counter()
    ingest(offline, csv, "ads")
    offline_wall = time.perf_counter() - t0
    shuffled = work / f"ad_clicks_{rows}_shuffled.csv"  # ids in no order: the online runs are sorted
    if not shuffled.exists():
        ad_clicks(rows, seed=3).sample(frac=1.0, random_state=0).to_csv(shuffled, index=False)
    other = _ws(work / "ws-ingest-shuffled")
    create_group(other, ad_clicks_spec("ads"))
    t0 = time.perf_counter()
    ingest(other, shuffled, "ads")
    shuffled_wall = time.perf_counter() - t0
    return {"rows": report.rows, "ingested": report.ingested, "wall_s": round(wall, 2),
            "cpu_s": round(cpu, 2), "offline_only_rows_per_s": round(report.rows / offline_wall),
            "shuffled_rows_per_s": round(report.rows / shuffled_wall),
            "rows_per_s": round(report.rows / wall), "csv_mb": round(csv.stat().st_size / 2**20, 1),
            "peak_rss_mb": round(peak_rss_mb()), "rss_before_mb": round(base)}


def _events_ws(work: Path, rows: int, **overrides: str):  # type: ignore[no-untyped-def]
    from mloop.features import create_group, get_group, ingest
    from mloop.features.errors import FeatureGroupNotFound

    ws = _ws(work / f"ws-events-{rows}", **overrides)
    parquet = work / f"events_{rows}.parquet"
    if not parquet.exists():
        events_frame(rows).to_parquet(parquet)
    try:
        get_group(ws, "events")
    except FeatureGroupNotFound:
        create_group(ws, events_spec())
        ingest(ws, parquet, "events")
    return ws


def case_training(work: Path, rows: int, entities: int) -> dict:
    from mloop.features import build_training_set

    ws = _events_ws(work, rows)
    ents = entities_frame(entities)
    base = peak_rss_mb()
    started, cpu = time.perf_counter(), time.process_time()
    out = build_training_set(ws, ents, ["events:f_float", "events:f_int", "events:f_str"])
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"entities": entities, "events": rows, "rows_returned": len(out), "wall_s": round(wall, 2),
            "cpu_s": round(cpu, 2),
            "peak_rss_mb": round(peak_rss_mb()), "rss_before_mb": round(base),
            "matched": int(out["f_float"].notna().sum())}


def _latency(fn, n: int) -> dict:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(n):
        t = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - t) / 1e6)
    samples.sort()
    return {"p50_ms": round(statistics.median(samples), 4),
            "p99_ms": round(samples[int(len(samples) * 0.99) - 1], 4)}


def case_online(work: Path, rows: int, backend: str) -> dict:
    import random

    from mloop.features import get_online

    overrides = {"online_store_url": REDIS_URL} if backend == "redis" else {}
    if backend == "redis":
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
    import shutil

    shutil.rmtree(work / backend, ignore_errors=True)  # a fresh group, so the online store is filled
    ws = _events_ws(work / backend, rows, **overrides)
    rng = random.Random(0)
    get_online(ws, "events", [1])  # warm caches and connections
    one = _latency(lambda: get_online(ws, "events", [rng.randrange(N_IDS)]), 5000)
    hundred = _latency(lambda: get_online(ws, "events", rng.sample(range(N_IDS), 100)), 1000)
    found = len(get_online(ws, "events", list(range(100))))
    return {"backend": backend, "get_1": one, "get_100": hundred, "found_of_100": found}


def _writer(root: str, calls: int, batch: int, offset: int, start_at: float = 0.0) -> dict:
    """Write after `start_at` (epoch s; lets several processes start together, imports done)."""
    from mloop.features import put_records
    from mloop.store import open_workspace

    ws = open_workspace(root)
    put_records(ws, "log", [{"user_id": offset - 1, "f_float": 0.0}])  # open stores, warm caches
    while time.time() < start_at:
        time.sleep(0.001)
    began, cpu = time.time(), time.process_time()
    for i in range(calls):
        put_records(ws, "log", [{"user_id": offset + i * batch + j, "f_float": 0.5, "f_int": j,
                                 "f_str": "a"} for j in range(batch)])
    return {"start": began, "end": time.time(), "rows": calls * batch + 1, "cpu_s": time.process_time() - cpu}


def case_put(work: Path, writers: int, batch: int, calls: int) -> dict:
    from mloop.features import create_group, flush_records

    root = work / f"ws-put-{writers}-{batch}"
    ws = _ws(root)
    create_group(ws, events_spec("log"))
    if writers == 1:
        spans = [_writer(str(root), calls, batch, 10**8)]
    else:
        start_at = f"{time.time() + 8:.3f}"  # after every writer has imported and opened its stores
        procs = [subprocess.Popen([sys.executable, __file__, "--case", "writer", "--work", str(root),
                                   "--calls", str(calls), "--batch", str(batch), "--offset",
                                   str((w + 1) * 10**8), "--start-at", start_at],
                                  stdout=subprocess.PIPE, text=True) for w in range(writers)]
        spans = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    wall = max(s["end"] for s in spans) - min(s["start"] for s in spans)
    total = writers * calls * batch
    flush_records(ws, "log")
    from mloop.features import extract

    stored = len(extract(ws, "log", history=True))
    return {"writers": writers, "records_per_call": batch, "rows": total, "wall_s": round(wall, 2),
            "rows_per_s": round(total / wall), "rows_in_offline_store": stored - writers,
            "rows_per_cpu_s_per_writer": round(calls * batch / (sum(s["cpu_s"] for s in spans) / writers))}


def make_big_csv(work: Path, gb: float) -> Path:
    """ad_clicks rows repeated to `gb` GB (written by a separate process: its memory is not ours)."""
    from mloop.recipes.datasets.ad_clicks import ad_clicks

    csv = work / f"big_{gb}gb.csv"
    if csv.exists():
        return csv
    part = csv.with_suffix(".part")
    ad_clicks(1_000_000, seed=5).to_csv(part, index=False)
    body = part.read_bytes().split(b"\n", 1)[1]
    with open(part, "ab") as fh:
        while fh.tell() < gb * 2**30:
            fh.write(body)
    part.rename(csv)
    return csv


def case_big(work: Path, gb: float) -> dict:
    from mloop.features import create_group, ingest
    from mloop.recipes.datasets.ad_clicks import ad_clicks_spec

    csv = work / f"big_{gb}gb.csv"
    ws = _ws(work / f"ws-big-{os.getpid()}")
    create_group(ws, ad_clicks_spec("ads"))
    started, cpu = time.perf_counter(), time.process_time()
    report = ingest(ws, csv, "ads", force=True)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"csv_gb": round(csv.stat().st_size / 2**30, 2), "rows": report.rows, "wall_s": round(wall, 1),
            "rows_per_s": round(report.rows / wall), "cpu_s": round(cpu, 1),
            "peak_rss_mb": round(peak_rss_mb())}


# ---------------------------------------------------------------- driver

def run_case(work: Path, *args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--work", str(work), *args],
                         capture_output=True, text=True, cwd=ROOT)
    if out.returncode:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--case")
    parser.add_argument("--work")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--backend", default="sqlite")
    parser.add_argument("--writers", type=int, default=1)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--start-at", type=float, default=0.0)
    parser.add_argument("--big-gb", type=float, default=0)
    parser.add_argument("--skip-feast", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    if args.case:
        work = Path(args.work)
        work.mkdir(parents=True, exist_ok=True)
        result = {
            "ingest": lambda: case_ingest(work, args.rows),
            "training": lambda: case_training(work, args.rows, args.entities),
            "online": lambda: case_online(work, 100_000, args.backend),
            "put": lambda: case_put(work, args.writers, args.batch, args.calls),
            "big": lambda: case_big(work, args.big_gb),
            "make-big": lambda: str(make_big_csv(work, args.big_gb)),
            "writer": lambda: _writer(args.work, args.calls, args.batch, args.offset, args.start_at),
        }[args.case]()
        print(json.dumps(result))
        return
    report(args)


def report(args: argparse.Namespace) -> None:
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="mloop-bench-fs-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = str(args.rows)
    load_at_start = os.getloadavg()
    for stale in work.glob("ws-*"):  # every case starts from empty workspaces (data files are reused)
        if not stale.name.startswith("ws-events-"):
            import shutil

            shutil.rmtree(stale, ignore_errors=True)
    mloop = {
        "ingest": run_case(work, "--case", "ingest", "--rows", rows),
        "training_100k": run_case(work, "--case", "training", "--rows", rows, "--entities", "100000"),
        "training_1m": run_case(work, "--case", "training", "--rows", rows, "--entities", "1000000"),
        "online_sqlite": run_case(work, "--case", "online", "--backend", "sqlite"),
        "online_redis": run_case(work, "--case", "online", "--backend", "redis"),
        "put_1x1": run_case(work, "--case", "put", "--writers", "1", "--batch", "1", "--calls", "20000"),
        "put_1x100": run_case(work, "--case", "put", "--writers", "1", "--batch", "100", "--calls", "500"),
        "put_4x1": run_case(work, "--case", "put", "--writers", "4", "--batch", "1", "--calls", "5000"),
        "put_4x100": run_case(work, "--case", "put", "--writers", "4", "--batch", "100", "--calls", "250"),
    }
    if args.big_gb:
        run_case(work, "--case", "make-big", "--big-gb", str(args.big_gb))
        mloop["big_ingest"] = run_case(work, "--case", "big", "--big-gb", str(args.big_gb))
    feast = _feast(work, args) if not args.skip_feast else {"skipped": "--skip-feast"}
    result = {"machine": {"cpus": os.cpu_count(), "loadavg_at_start": load_at_start,
                          "loadavg_at_end": os.getloadavg()},
              "rows": args.rows, "mloop": mloop, "feast": feast}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    _print(result)


def _feast(work: Path, args: argparse.Namespace) -> dict:
    if not FEAST_PY.exists():
        return {"skipped": f"{FEAST_PY} not found (Feast venv not installed)"}
    # Feast reads the same events through Parquet written by this (mloop) interpreter.
    import pandas as pd  # noqa: F401

    events = work / f"events_{args.rows}.parquet"
    if not events.exists():
        events_frame(args.rows).to_parquet(events)
    for n in (100_000, 1_000_000):
        path = work / f"entities_{n}.parquet"
        if not path.exists():
            entities_frame(n).to_parquet(path)
    out = subprocess.run([str(FEAST_PY), str(HERE / "feast_side.py"), str(work), str(args.rows)],
                         capture_output=True, text=True, timeout=1800)
    if out.returncode:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _print(result: dict) -> None:
    m, f = result["mloop"], result.get("feast", {})

    def g(d: dict, *path: str) -> object:
        for p in path:
            d = d.get(p, {}) if isinstance(d, dict) else {}
        return d if d != {} else "-"

    rows = [
        ("ingest rows/s (validated CSV)", g(m, "ingest", "rows_per_s"), "n/a"),
        ("ingest rows/s, same rows shuffled", g(m, "ingest", "shuffled_rows_per_s"), "-"),
        ("ingest offline-only rows/s", g(m, "ingest", "offline_only_rows_per_s"), "-"),
        ("ingest CPU s (1M rows, with online)", g(m, "ingest", "cpu_s"), "-"),
        ("ingest peak RSS MB", g(m, "ingest", "peak_rss_mb"), "-"),
        ("training 100k wall s", g(m, "training_100k", "wall_s"), g(f, "training_100k", "wall_s")),
        ("training 100k rows returned", g(m, "training_100k", "rows_returned"),
         g(f, "training_100k", "rows_returned")),
        ("training 100k peak RSS MB", g(m, "training_100k", "peak_rss_mb"), g(f, "training_100k", "peak_rss_mb")),
        ("training 1M wall s", g(m, "training_1m", "wall_s"), g(f, "training_1m", "wall_s")),
        ("training 1M rows returned", g(m, "training_1m", "rows_returned"), g(f, "training_1m", "rows_returned")),
        ("training 1M peak RSS MB", g(m, "training_1m", "peak_rss_mb"), g(f, "training_1m", "peak_rss_mb")),
        ("online sqlite get 1 p50/p99 ms", _pp(m, "online_sqlite", "get_1"), _pp(f, "online", "get_1")),
        ("online sqlite get 100 p50/p99 ms", _pp(m, "online_sqlite", "get_100"), _pp(f, "online", "get_100")),
        ("online redis get 1 p50/p99 ms", _pp(m, "online_redis", "get_1"), "-"),
        ("online redis get 100 p50/p99 ms", _pp(m, "online_redis", "get_100"), "-"),
        ("put_records 1 writer x 1 rec rows/s", g(m, "put_1x1", "rows_per_s"), g(f, "write_1x1", "rows_per_s")),
        ("put_records 1 writer x 100 rec rows/s", g(m, "put_1x100", "rows_per_s"),
         g(f, "write_1x100", "rows_per_s")),
        ("put_records 4 writers x 1 rec rows/s", g(m, "put_4x1", "rows_per_s"), "-"),
        ("put_records 4 writers x 100 rec rows/s", g(m, "put_4x100", "rows_per_s"), "-"),
    ]
    if "big_ingest" in m:
        rows.append(("big CSV ingest GB / peak RSS MB",
                     f"{g(m, 'big_ingest', 'csv_gb')} / {g(m, 'big_ingest', 'peak_rss_mb')}", "-"))
    print(f"{'case':<42} {'mloop':>20} {'feast':>20} {'mloop advantage':>16}")
    for name, a, b in rows:
        print(f"{name:<42} {a!s:>20} {b!s:>20} {_ratio(name, a, b):>16}")
    print(f"results: {RESULTS}")


def _ratio(name: str, a: object, b: object) -> str:
    """How many times better mloop is (throughput: a/b; times and latencies: b/a)."""
    def first(v: object) -> float | None:
        try:
            return float(str(v).split("/")[-1]) if "/" in str(v) else float(v)  # p99 for latencies
        except (TypeError, ValueError):
            return None

    x, y = first(a), first(b)
    if not x or not y or "returned" in name:
        return "-"
    return f"x{x / y:.1f}" if "rows/s" in name else f"x{y / x:.1f}"


def _pp(d: dict, key: str, sub: str) -> str:
    v = d.get(key, {}).get(sub) if isinstance(d.get(key), dict) else None
    return f"{v['p50_ms']}/{v['p99_ms']}" if v else "-"


if __name__ == "__main__":
    main()
