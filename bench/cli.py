"""CLI response time of the commands that neither train nor serve (issue 19: each under 1 s).

Seeds a workspace (a finished pipeline run, a feature group, registered versions), then times
each command as a user runs it - a fresh `python -m mloop` process - five times and reports the
median wall time and CPU time (the load average beside them). `--python` runs another
checkout's interpreter (its venv and code) on the same seeded workspace, so a before/after pair
comes from the same machine in the same minute.

    .venv/bin/python bench/cli.py [--python PYTHON ...] [--repeat 5] [--only "models approve" ...]
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

ROOT = Path(__file__).resolve().parents[1]
SEED = """
import sys
from pathlib import Path
from mloop import registry
from mloop.config import init_workspace
from mloop.features import create_group, ingest
from mloop.pipelines import run_pipeline
from mloop.recipes.datasets.ad_clicks import ad_clicks, ad_clicks_spec
from mloop.store import open_workspace
root = Path(sys.argv[1]); versions = int(sys.argv[2])
init_workspace(root)
ws = open_workspace(root)
create_group(ws, ad_clicks_spec("clicks"))
ad_clicks(500, seed=1).to_csv(root / "clicks.csv", index=False)
ingest(ws, root / "clicks.csv", "clicks")
run = run_pipeline(ws, "housing", {"data_source": "synthetic:400", "n_estimators": 5, "max_depth": 4,
                                   "r2_threshold": 0.0})
(root / "model").mkdir()
for _ in range(versions):
    registry.register(ws, "bench-model", str(root / "model"), principal="seeder")
print(run.id)
"""


def commands(run_id: str, repeat: int) -> list[tuple[str, list[list[str]]]]:
    """(label, one argv per repetition): approvals and rejections each need their own version."""
    same = lambda *args: [list(args)] * repeat  # noqa: E731
    return [
        ("--help", same("--help")),
        ("runs list", same("runs", "list")),
        ("runs show", same("runs", "show", run_id)),
        ("features list", same("features", "list")),
        ("features show", same("features", "show", "clicks")),
        ("models list", same("models", "list")),
        ("models show", same("models", "show", "bench-model")),
        ("models history", same("models", "history", "bench-model")),
        ("endpoints list", same("endpoints", "list")),
        ("alerts list", same("alerts", "list")),
        ("config show", same("config", "show")),
        ("lineage dump", same("lineage", "dump", "--pipeline", "housing")),
        ("models approve", [["models", "approve", "bench-model", str(v), "-m", "ok"] for v in range(1, repeat + 1)]),
        ("models reject", [["models", "reject", "bench-model", str(v), "-m", "no"]
                           for v in range(repeat + 1, 2 * repeat + 1)]),
    ]


def time_one(python: str, argv: list[str], ws: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one command. CPU time (user + system of the process) is what
    a quiet machine's wall time comes down to; on a loaded one, wall time mostly measures the queue.
    Bytecode caching is on, as for any installed package (a shell's PYTHONDONTWRITEBYTECODE=1
    would recompile mloop's own modules at every start)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLOOP_") and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(MLOOP_WORKSPACE=str(ws), MLOOP_PRINCIPAL="bencher")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([python, "-m", "mloop", *argv], env=env, cwd=ws, capture_output=True, text=True,
                          timeout=300, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.strip()[-500:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", action="append", default=[],
                        help="interpreter(s) to time (default: this one); give several to compare")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", action="append", default=[], help="time only these commands (labels)")
    args = parser.parse_args()
    pythons = args.python or [sys.executable]
    results: dict[str, dict[str, float]] = {}
    cpu: dict[str, dict[str, float]] = {}
    print(f"load average at start: {os.getloadavg()}", flush=True)
    # background tag drainers started by `models approve` may still be writing when we finish
    with tempfile.TemporaryDirectory(prefix="mloop-bench-cli-", ignore_cleanup_errors=True) as tmp:
        seeded: dict[str, tuple[Path, str]] = {}
        for n, python in enumerate(pythons):
            ws = Path(tmp) / f"ws{n}"
            done = subprocess.run([python, "-c", SEED, str(ws), str(2 * args.repeat)], capture_output=True,
                                  text=True, timeout=900, check=True, env={**os.environ, "MLOOP_PRINCIPAL": "seeder"})
            seeded[python] = (ws, done.stdout.strip().splitlines()[-1])
            time_one(python, ["--help"], ws)  # warm-up: write the bytecode cache once
            results[python], cpu[python] = {}, {}
        labels = [label for label, _ in commands("", args.repeat) if not args.only or label in args.only]
        for label in labels:
            # interleaved: repetition i of every interpreter runs back to back, so a load spike
            # from other users hits each of them alike
            times: dict[str, list[tuple[float, float]]] = {p: [] for p in pythons}
            for i in range(args.repeat):
                for python in pythons:
                    ws, run_id = seeded[python]
                    argv = dict(commands(run_id, args.repeat))[label][i]
                    times[python].append(time_one(python, argv, ws))
            for python in pythons:
                results[python][label] = round(statistics.median(t[0] for t in times[python]), 3)
                cpu[python][label] = round(statistics.median(t[1] for t in times[python]), 3)
                print(f"{python}  {label:<16} median {results[python][label]:.3f} s wall, "
                      f"{cpu[python][label]:.3f} s CPU", flush=True)
    out = ROOT / "bench" / "results" / "cli.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()
    out.write_text(json.dumps({"wall": results, "cpu": cpu, "load_at_end": load}, indent=2) + "\n",
                   encoding="utf-8")
    print(f"\nload average at end: {load}\n| command (wall / CPU) | " + " | ".join(pythons) + " |\n|---|"
          + "---|" * len(pythons))
    for label in labels:
        print(f"| `mloop {label}` | "
              + " | ".join(f"{results[p][label]:.2f} s / {cpu[p][label]:.2f} s" for p in pythons) + " |")


if __name__ == "__main__":
    main()
