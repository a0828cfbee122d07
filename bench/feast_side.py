"""The Feast side of bench/feature_store.py; runs in /work/bench-venvs/feast (Feast 0.67).

    feast/bin/python bench/feast_side.py WORK ROWS            # all cases, each in a subprocess
    feast/bin/python bench/feast_side.py WORK ROWS --case X   # one case, prints JSON

Same data as the mloop side (WORK/events_ROWS.parquet, WORK/entities_N.parquet), local
provider, default offline store, SQLite online store.
"""

from __future__ import annotations

import json
import random
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

N_IDS = 100_000


def _store(work: Path, rows: int):  # type: ignore[no-untyped-def]
    from feast import Entity, FeatureStore, FeatureView, Field, FileSource, RepoConfig
    from feast.types import Float64, Int64, String

    repo = work / "feast-repo"
    repo.mkdir(exist_ok=True)
    config = RepoConfig(
        project="bench", provider="local", registry=str(repo / "registry.db"),
        online_store={"type": "sqlite", "path": str(repo / "online.db")},
        entity_key_serialization_version=3, repo_path=str(repo),
    )
    store = FeatureStore(config=config)
    user = Entity(name="user", join_keys=["user_id"])
    source = FileSource(path=str(work / f"events_{rows}.parquet"), timestamp_field="event_time")
    view = FeatureView(name="events", entities=[user], ttl=timedelta(days=400), source=source,
                       schema=[Field(name="f_float", dtype=Float64), Field(name="f_int", dtype=Int64),
                               Field(name="f_str", dtype=String)])
    store.apply([user, view])
    return store


FEATURES = ["events:f_float", "events:f_int", "events:f_str"]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def case_training(work: Path, rows: int, entities: int) -> dict:
    import pandas as pd

    store = _store(work, rows)
    ents = pd.read_parquet(work / f"entities_{entities}.parquet")
    started = time.perf_counter()
    out = store.get_historical_features(entity_df=ents, features=FEATURES).to_df()
    wall = time.perf_counter() - started
    return {"entities": entities, "rows_returned": len(out), "wall_s": round(wall, 2),
            "peak_rss_mb": round(peak_rss_mb()), "matched": int(out["f_float"].notna().sum())}


def _latency(fn, n: int) -> dict:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(n):
        t = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - t) / 1e6)
    samples.sort()
    return {"p50_ms": round(statistics.median(samples), 4),
            "p99_ms": round(samples[int(len(samples) * 0.99) - 1], 4)}


def case_online(work: Path, rows: int) -> dict:
    store = _store(work, rows)
    started = time.perf_counter()
    store.materialize(datetime(2023, 12, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC))
    materialize = time.perf_counter() - started
    rng = random.Random(0)

    def get(ids: list[int]) -> None:
        store.get_online_features(features=FEATURES, entity_rows=[{"user_id": i} for i in ids]).to_dict()

    get([1])
    one = _latency(lambda: get([rng.randrange(N_IDS)]), 1000)
    hundred = _latency(lambda: get(rng.sample(range(N_IDS), 100)), 200)
    return {"materialize_s": round(materialize, 1), "get_1": one, "get_100": hundred}


def case_write(work: Path, rows: int, batch: int, calls: int) -> dict:
    import pandas as pd

    store = _store(work, rows)
    now = pd.Timestamp.now(tz="UTC")
    started = time.perf_counter()
    for c in range(calls):
        frame = pd.DataFrame({"user_id": [c * batch + j for j in range(batch)], "event_time": [now] * batch,
                              "f_float": [0.5] * batch, "f_int": [1] * batch, "f_str": ["a"] * batch})
        store.write_to_online_store("events", frame)
    wall = time.perf_counter() - started
    return {"records_per_call": batch, "rows": batch * calls, "wall_s": round(wall, 2),
            "rows_per_s": round(batch * calls / wall), "store": "online only (Feast has no durable log)"}


def run_case(work: Path, rows: int, *args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, str(work), str(rows), "--case", *args],
                         capture_output=True, text=True, timeout=1200)
    if out.returncode:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1][:300]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    work, rows = Path(sys.argv[1]), int(sys.argv[2])
    if "--case" in sys.argv:
        case = sys.argv[sys.argv.index("--case") + 1:]
        result = {
            "training": lambda: case_training(work, rows, int(case[1])),
            "online": lambda: case_online(work, rows),
            "write": lambda: case_write(work, rows, int(case[1]), int(case[2])),
        }[case[0]]()
        print(json.dumps(result))
        return
    import feast

    result = {
        "version": feast.__version__,
        "training_100k": run_case(work, rows, "training", "100000"),
        "training_1m": run_case(work, rows, "training", "1000000"),
        "online": run_case(work, rows, "online"),
        "write_1x1": run_case(work, rows, "write", "1", "300"),
        "write_1x100": run_case(work, rows, "write", "100", "30"),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
