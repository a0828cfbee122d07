"""Model server throughput and latency: `mloop serve` vs `mlflow models serve` vs a KServe custom model.

The ad-click reference model (XGBoost, 100 trees, depth 6, the raw ad-click features) is logged,
registered, approved and deployed; `mloop serve`, `mlflow models serve --env-manager local`
(from this venv) and a KServe custom model server (bench/kserve_model.py, run from its own venv,
serving the same saved model files) each run with the same number of workers, and wrk drives them
on loopback: single-row CSV and JSON at 1, 8 and 64 connections, 100-row CSV batches at 8, and
KServe V1 `{"instances": ...}` bodies (identical bytes to mloop's `/v1/models/{name}:predict` and
to KServe) at 1/8/64 connections and 100 rows at 8. A last point measures whether one client can
stall the others: single-row V1 requests at 8 connections, alone and while two clients post 5 MB
V1 bodies back to back (mloop and KServe, same run). The in-process `predict_records` time is the
floor. Every server's answers are checked against the in-process model (1e-6) first. Each row
reports mloop/MLflow and mloop/KServe throughput ratios (KServe has no CSV route: its figure for a
(rows, connections) point is its V1 JSON figure; the `v1` rows are the like-for-like comparison).
Prints a table; writes bench/results/serving.json.

    .venv/bin/python bench/serving.py [--seconds 5] [--workers 2] [--skip-mlflow]
        [--kserve-python /work/bench-venvs/kserve/bin/python | --skip-kserve]

The KServe venv (kept apart so the project's pins are untouched):
    python3.11 -m venv /work/bench-venvs/kserve && /work/bench-venvs/kserve/bin/pip install kserve xgboost-cpu

The issue asks for 15 s per point; the default here is shorter (pass --seconds 15 for that).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.support.servers import free_port, port_open, stop_process, wait_until  # noqa: E402

FEATURES = ["age", "gender", "device_type", "ad_position", "browsing_history", "time_of_day"]
ROW = [31, "Female", "Mobile", "Top", "Shopping", "Morning"]
VENV_BIN = str(Path(sys.executable).parent)
KSERVE_PYTHON = Path("/work/bench-venvs/kserve/bin/python")
KSERVE_MODEL = "ad-click"


def build(root: Path) -> tuple[Any, Any, Path]:
    """Train, log, register, approve and deploy the reference model; (ws, model, model_dir)."""
    from mloop import registry, serving, tracking
    from mloop.config import init_workspace
    from mloop.model_format import TabularModel, pyfunc_code_path
    from mloop.recipes.datasets import ad_clicks
    from mloop.serving.runtime.model_cache import model_dir
    from mloop.store import open_workspace

    init_workspace(root)
    ws = open_workspace(root)
    frame = ad_clicks(5000, 0)
    model = TabularModel.fit(frame, "click", features=FEATURES,
                             params={"n_estimators": 100, "max_depth": 6}, seed=0)
    with tracking.start_run(ws, experiment="bench-serving") as run:
        path = model.save(root / "model")
        uri = tracking.log_model(ws, run.run_id, python_model=pyfunc_code_path(),
                                 artifacts={"model_dir": str(path)},
                                 input_example=model.input_example(frame))  # as the training step logs it
    mv = registry.register(ws, "ad-click", uri, run_id=run.run_id)
    registry.approve(ws, "ad-click", mv.version, comment="bench")
    serving.deploy(ws, "bench", "ad-click", version=mv.version)
    return ws, model, model_dir(ws, mv.model_uri)


def env(extra: dict[str, str] | None = None) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("MLOOP_")}
    out["PATH"] = f"{VENV_BIN}:{out.get('PATH', '')}"
    return {**out, **(extra or {})}


def start(cmd: list[str], cwd: Path, port: int, ready: str, log: Path,
          extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(cmd, cwd=cwd, env=env(extra_env), stdout=open(log, "wb"),  # noqa: SIM115
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}{ready}"
    wait_until(lambda: port_open(port) and httpx.get(url, timeout=2).status_code == 200, timeout=180,
               what=" ".join(cmd[:3]))
    return proc


def payloads(rows: int) -> dict[str, tuple[str, str, str]]:
    """name -> (content type, mloop body, mlflow body); `v1` is also KServe's body (no MLflow run)."""
    records = [ROW] * rows
    csv_rows = "\n".join(",".join(map(str, r)) for r in records) + "\n"
    split = json.dumps({"dataframe_split": {"columns": FEATURES, "data": records}})
    instances = json.dumps({"instances": records})
    return {"csv": ("text/csv", csv_rows, ",".join(FEATURES) + "\n" + csv_rows),
            "json": ("application/json", split, split),
            "v1": ("application/json", instances, instances)}


LUA = """wrk.method = "POST"
wrk.headers["Content-Type"] = "{ctype}"
wrk.body = [==[{body}]==]
"""


def wrk(url: str, ctype: str, body: str, conns: int, seconds: float, tmp: Path) -> dict[str, float]:
    script = tmp / f"wrk-{abs(hash((ctype, body, conns)))}.lua"
    script.write_text(LUA.format(ctype=ctype, body=body))
    threads = min(conns, 2)
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(conns), "-d", f"{max(1, round(seconds))}s", "--latency",
                          "-s", str(script), url], capture_output=True, text=True, check=True).stdout
    return parse_wrk(out)


def parse_wrk(out: str) -> dict[str, float]:
    def ms(text: str) -> float:
        value, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]

    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}  # type: ignore[union-attr]
    for pct in ("50", "99"):
        found = re.search(rf"\s{pct}%\s+([\d.]+\w+)", out)
        result[f"p{pct}_ms"] = ms(found.group(1)) if found else float("nan")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non_2xx"] = float(errors.group(1)) if errors else 0.0
    sock = re.search(r"Socket errors: (.*)", out)
    result["socket_errors"] = sock.group(1) if sock else ""  # type: ignore[assignment]
    return result


def floor(model: Any, rows: int, n: int = 3000) -> dict[str, float]:
    batch = [ROW] * rows
    times = []
    for _ in range(n if rows == 1 else n // 10):
        t = time.perf_counter()
        model.predict_records(batch)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {"p50_ms": statistics.median(times), "p99_ms": times[int(len(times) * 0.99)],
            "rps_one_core": 1000 / statistics.mean(times)}


def check(url: str, mlflow_url: str | None, model: Any, kserve_url: str | None = None) -> dict[str, float]:
    expected = model.predict_records([ROW, ROW]).tolist()
    ctype, body, mlbody = payloads(2)["csv"]
    got = httpx.post(f"{url}/invocations", content=body, headers={"content-type": ctype}).json()["predictions"]
    diffs = {"mloop": max(abs(a - b) for a, b in zip(got, expected, strict=True))}
    v1type, v1body, _ = payloads(2)["v1"]
    for name, base, model_name in (("mloop_v1", url, "bench"), ("kserve", kserve_url, KSERVE_MODEL)):
        if base:
            got = httpx.post(f"{base}/v1/models/{model_name}:predict", content=v1body,
                             headers={"content-type": v1type}).json()["predictions"]
            diffs[name] = max(abs(a - b) for a, b in zip(got, expected, strict=True))
    if mlflow_url:
        ml = httpx.post(f"{mlflow_url}/invocations", content=mlbody, headers={"content-type": ctype}).json()
        ml = ml["predictions"] if isinstance(ml, dict) else ml
        diffs["mlflow"] = max(abs(float(a) - b) for a, b in zip(ml, expected, strict=True))
    assert all(d <= 1e-6 for d in diffs.values()), diffs
    return diffs


def swap_under_load(ws: Any, url: str, seconds: int, tmp: Path) -> dict[str, Any]:
    """wrk at 8 connections while the endpoint goes through deploy, weights, promote, rollback."""
    import threading

    from mloop import registry, serving

    version = registry.latest_approved(ws, "ad-click").version
    ctype, body, _ = payloads(1)["csv"]
    box: dict[str, Any] = {}
    runner = threading.Thread(target=lambda: box.update(wrk(f"{url}/invocations", ctype, body, 8,
                                                            max(seconds, 8), tmp)))
    runner.start()
    steps = [lambda: serving.deploy(ws, "bench", "ad-click", version=version, variant="canary", weight=20),
             lambda: serving.set_weights(ws, "bench", {"production": 50, "canary": 50}),
             lambda: serving.promote(ws, "bench"), lambda: serving.rollback(ws, "bench")]
    pause = max(seconds, 8) / (len(steps) + 1)
    for step in steps:
        time.sleep(pause)
        step()
    runner.join()
    return {"changes": ["deploy canary 20%", "set-weights 50/50", "promote", "rollback"], **box}


BIG_BODY_BYTES = 5 * 1024 * 1024


def big_v1_body() -> str:
    """A valid KServe V1 body of about 5 MB (the size that stalled every other client)."""
    one = json.dumps(ROW)
    rows = BIG_BODY_BYTES // (len(one) + 1)
    return '{"instances": [' + ",".join([one] * rows) + "]}"


def stall_point(url: str, route: str, seconds: int, tmp: Path, conns: int = 8) -> dict[str, Any]:
    """Single-row V1 requests at `conns` connections, alone and while two clients send 5 MB bodies.

    The two senders post back to back for the whole wrk run (KServe V1 JSON, identical bytes for
    both servers); the probe's p50 is what "one client cannot stall the others" is about.
    """
    import threading
    from collections import Counter

    v1type, probe, _ = payloads(1)["v1"]
    alone = wrk(f"{url}{route}", v1type, probe, conns, seconds, tmp)
    big = big_v1_body().encode()
    stop, codes, lock = threading.Event(), Counter[int](), threading.Lock()

    def sender() -> None:
        with httpx.Client(timeout=120) as client:
            while not stop.is_set():
                code = client.post(f"{url}{route}", content=big, headers={"content-type": v1type}).status_code
                with lock:
                    codes[code] += 1

    senders = [threading.Thread(target=sender, daemon=True) for _ in range(2)]
    for t in senders:
        t.start()
    try:
        loaded = wrk(f"{url}{route}", v1type, probe, conns, seconds, tmp)
    finally:
        stop.set()
        for t in senders:
            t.join(120)
    return {"connections": conns, "big_body_bytes": len(big), "probe_alone": alone,
            "probe_with_two_5mb_senders": loaded, "big_requests_answered": dict(codes)}


def stall_points(urls: dict[str, str | None], seconds: int, tmp: Path) -> dict[str, Any]:
    """`stall_point` on mloop and (same run) KServe, side by side."""
    route = "/v1/models/bench:predict"
    out: dict[str, Any] = {"mloop": stall_point(urls["mloop"], route, seconds, tmp)}  # type: ignore[arg-type]
    if urls["alternative"]:
        out["mloop_alternative"] = stall_point(urls["alternative"], route, seconds, tmp)
    if urls["kserve"]:
        out["kserve"] = stall_point(urls["kserve"], f"/v1/models/{KSERVE_MODEL}:predict", seconds, tmp)
    for name, point in out.items():
        a, b = point["probe_alone"], point["probe_with_two_5mb_senders"]
        print(f"stall {name:>13}: 1-row V1 at c={point['connections']} alone p50 {a['p50_ms']:.2f} ms "
              f"p99 {a['p99_ms']:.2f} ms; with two 5 MB senders p50 {b['p50_ms']:.2f} ms p99 {b['p99_ms']:.2f} ms "
              f"({b['rps']:.0f} req/s; big answers {point['big_requests_answered']})", flush=True)
    return out


def shadow_version(ws: Any, root: Path) -> int:
    """A second Approved version of the reference model (another seed, the same cost) to shadow."""
    from mloop import registry, tracking
    from mloop.model_format import TabularModel, pyfunc_code_path
    from mloop.recipes.datasets import ad_clicks

    frame = ad_clicks(5000, 1)
    model = TabularModel.fit(frame, "click", features=FEATURES, params={"n_estimators": 100, "max_depth": 6}, seed=1)
    with tracking.start_run(ws, experiment="bench-serving") as run:
        path = model.save(root / "model-shadow")
        uri = tracking.log_model(ws, run.run_id, python_model=pyfunc_code_path(), artifacts={"model_dir": str(path)})
    mv = registry.register(ws, "ad-click", uri, run_id=run.run_id)
    registry.approve(ws, "ad-click", mv.version, comment="bench shadow")
    return int(mv.version)


def served_generation(url: str, generation: int) -> bool:
    """True once 10 pings in a row (any worker) report `generation`."""
    return all(httpx.get(f"{url}/ping", timeout=2).json().get("generation") == generation for _ in range(10))


def server_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a server process and its workers so far."""
    import psutil

    parent = psutil.Process(pid)
    total = 0.0
    for proc in [parent, *parent.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def shadow_points(ws: Any, url: str, pid: int, seconds: int, tmp: Path, rounds: int = 7) -> dict[str, Any]:
    """Single-row CSV at 8 connections on endpoint `bench` without and with a shadow, alternating
    `rounds` times on the same server (the shadow deployed, then rolled back), so both sides see
    the same host load; the shadow samples every request (--sample 1). Beside throughput and
    latency (which the shared host moves a lot), the server's CPU time per answered request: what
    the shadow really costs, little moved by other processes."""
    from mloop import serving
    from mloop.serving.endpoints.prediction_log import dropped, read_log

    version = shadow_version(ws, tmp)
    ctype, body, _ = payloads(1)["csv"]
    runs: dict[str, list[dict[str, Any]]] = {"without": [], "with": []}
    for _ in range(rounds):
        for side in ("without", "with"):
            ep = serving.get_endpoint(ws, "bench")
            has = any(v.shadow for v in ep.variants)
            if side == "with" and not has:
                ep = serving.deploy_shadow(ws, "bench", "ad-click", variant="shadow", version=version)
            elif side == "without" and has:
                ep = serving.rollback(ws, "bench")
            wait_until(lambda gen=ep.generation: served_generation(url, gen), timeout=120, what="generation served")
            started = datetime.now(UTC)
            cpu = server_cpu_s(pid)
            point = wrk(f"{url}/invocations", ctype, body, 8, seconds, tmp)
            point["cpu_us_per_request"] = (server_cpu_s(pid) - cpu) / max(point["rps"] * seconds, 1) * 1e6
            point["load_average"] = os.getloadavg()
            if side == "with":
                time.sleep(1.5)  # the servers write their log every 0.5 s: let the last batch land
                log = read_log(ws, "bench", started)
                point["shadow_copies_logged"] = sum(1 for r in log if r["shadow"])
                point["shadow_dropped"] = dropped(ws, "bench", started).get("shadow", 0)
            runs[side].append(point)
            print(f"shadow point {side:>7} a shadow: {point['rps']:8.0f} req/s p50 {point['p50_ms']:.3f} ms "
                  f"p99 {point['p99_ms']:.3f} ms, {point['cpu_us_per_request']:.0f} us CPU/request"
                  + (f" (copies logged {point['shadow_copies_logged']}, dropped "
                  f"{point['shadow_dropped']})" if side == "with" else "") + f" load {point['load_average'][0]:.1f}",
                  flush=True)
    if any(v.shadow for v in serving.get_endpoint(ws, "bench").variants):
        serving.rollback(ws, "bench")
    med = {side: {k: statistics.median(p[k] for p in points) for k in ("rps", "p50_ms", "p99_ms", "cpu_us_per_request")}
           for side, points in runs.items()}
    out = {"format": "csv", "rows": 1, "connections": 8, "rounds": rounds, "sample": 1.0, "runs": runs,
           "median": med, "throughput_cost": 1 - med["with"]["rps"] / med["without"]["rps"],
           "p99_cost_ms": med["with"]["p99_ms"] - med["without"]["p99_ms"],
           "cpu_cost": med["with"]["cpu_us_per_request"] / med["without"]["cpu_us_per_request"] - 1,
           "compare": serving.compare(ws, "bench", since=None)}
    print(f"shadow cost (medians of {rounds}): throughput {100 * out['throughput_cost']:.1f}% "
          f"(target <= 10%), p99 {out['p99_cost_ms']:+.3f} ms (target <= 0.5 ms), CPU per request "
          f"{100 * out['cpu_cost']:+.1f}%", flush=True)
    return out


def kserve_python(args: argparse.Namespace) -> Path | None:
    """The KServe venv's python: --kserve-python, else the default venv when it exists."""
    if args.skip_kserve:
        return None
    if args.kserve_python:
        path = Path(args.kserve_python)
        if not path.is_file():
            raise SystemExit(f"--kserve-python {path}: no such file")
        return path
    return KSERVE_PYTHON if KSERVE_PYTHON.is_file() else None


def start_servers(args: argparse.Namespace, tmp: Path, mdir: Path) -> tuple[list[subprocess.Popen[bytes]],
                                                                           dict[str, str | None]]:
    """mloop (and --no-batching), MLflow and KServe servers on free loopback ports; (procs, urls)."""
    procs: list[subprocess.Popen[bytes]] = []
    urls: dict[str, str | None] = {"mloop": None, "no_batching": None, "alternative": None, "mlflow": None,
                                   "kserve": None}
    try:
        port = free_port()
        procs.append(start([sys.executable, "-m", "mloop", "serve", "bench", "--port", str(port),
                            "--workers", str(args.workers)], tmp / "ws", port, "/ping", tmp / "mloop.log"))
        urls["mloop"] = f"http://127.0.0.1:{port}"
        if args.compare_batching:
            port = free_port()
            procs.append(start([sys.executable, "-m", "mloop", "serve", "bench", "--port", str(port),
                                "--workers", str(args.workers), "--no-batching"], tmp / "ws", port, "/ping",
                               tmp / "mloop-nobatch.log"))
            urls["no_batching"] = f"http://127.0.0.1:{port}"
        if args.compare_offload:  # the alternatives: 100-row requests in threads, 5 MB bodies in threads
            port = free_port()
            procs.append(start([sys.executable, "-m", "mloop", "serve", "bench", "--port", str(port),
                                "--workers", str(args.workers)], tmp / "ws", port, "/ping",
                               tmp / "mloop-alternative.log",
                               {"MLOOP_SERVING__OFFLOAD_BYTES": "1024", "MLOOP_SERVING__PROCESS_BYTES": "0"}))
            urls["alternative"] = f"http://127.0.0.1:{port}"
        if not args.skip_mlflow:
            port = free_port()
            procs.append(start(["mlflow", "models", "serve", "-m", str(mdir), "--env-manager", "local", "-p",
                                str(port), "-h", "127.0.0.1", "--workers", str(args.workers)],
                               tmp, port, "/ping", tmp / "mlflow.log"))
            urls["mlflow"] = f"http://127.0.0.1:{port}"
        python = kserve_python(args)
        if python:
            port = free_port()
            procs.append(start([str(python), str(ROOT / "bench" / "kserve_model.py"), "--model_dir", str(mdir),
                                "--model_name", KSERVE_MODEL, "--http_port", str(port), "--host", "127.0.0.1",
                                "--workers", str(args.workers)],
                               tmp, port, f"/v1/models/{KSERVE_MODEL}", tmp / "kserve.log"))
            urls["kserve"] = f"http://127.0.0.1:{port}"
    except BaseException:
        stop_all(procs)
        raise
    return procs, urls


def stop_all(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        stop_process(p, timeout=20)


POINTS = [("csv", 1, 1), ("json", 1, 1), ("v1", 1, 1), ("csv", 1, 8), ("json", 1, 8), ("v1", 1, 8),
          ("csv", 1, 64), ("json", 1, 64), ("v1", 1, 64), ("csv", 100, 8), ("v1", 100, 8)]


def run_points(urls: dict[str, str | None], seconds: int, tmp: Path,
               rows_only: int | None = None) -> list[dict[str, Any]]:
    """Every point (or those of `rows_only` rows) on every server; KServe once per (rows, connections), V1 body."""
    url, nb_url, ml_url, ks_url = urls["mloop"], urls["no_batching"], urls["mlflow"], urls["kserve"]
    kserve_at: dict[tuple[int, int], dict[str, float]] = {}
    results = []
    for fmt, rows, conns in POINTS:
        if rows_only is not None and rows != rows_only:
            continue
        ctype, body, mlbody = payloads(rows)[fmt]
        route = "/v1/models/bench:predict" if fmt == "v1" else "/invocations"
        row: dict[str, Any] = {"format": fmt, "rows": rows, "connections": conns,
                               "mloop": wrk(f"{url}{route}", ctype, body, conns, seconds, tmp)}
        if nb_url and rows == 1:
            row["mloop_no_batching"] = wrk(f"{nb_url}{route}", ctype, body, conns, seconds, tmp)
        if urls["alternative"] and rows > 1:
            row["mloop_alternative"] = wrk(f"{urls['alternative']}{route}", ctype, body, conns, seconds, tmp)
        if ml_url and fmt != "v1":
            row["mlflow"] = wrk(f"{ml_url}/invocations", ctype, mlbody, conns, seconds, tmp)
            row["ratio_rps"] = row["mloop"]["rps"] / max(row["mlflow"]["rps"], 1e-9)
        if ks_url:
            if (rows, conns) not in kserve_at:
                v1type, v1body, _ = payloads(rows)["v1"]
                kserve_at[(rows, conns)] = wrk(f"{ks_url}/v1/models/{KSERVE_MODEL}:predict", v1type, v1body,
                                               conns, seconds, tmp)
            row["kserve"] = kserve_at[(rows, conns)]
            row["ratio_rps_kserve"] = row["mloop"]["rps"] / max(row["kserve"]["rps"], 1e-9)
        results.append(row)
        print_row(row)
    return results


def kserve_version(urls: dict[str, str | None], args: argparse.Namespace) -> str | None:
    python = kserve_python(args) if urls["kserve"] else None
    if not python:
        return None
    return subprocess.run([str(python), "-c", "from importlib.metadata import version; print(version('kserve'))"],
                          capture_output=True, text=True, timeout=60).stdout.strip() or None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5.0, help="wrk duration per point (issue: 15)")
    parser.add_argument("--workers", type=int, default=2, help="server workers (all servers)")
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument("--kserve-python", help=f"python of a venv with kserve + xgboost (default: {KSERVE_PYTHON} "
                                                "when it exists)")
    parser.add_argument("--skip-kserve", action="store_true")
    parser.add_argument("--compare-batching", action="store_true",
                        help="also run mloop with --no-batching (single-row points)")
    parser.add_argument("--rows", type=int, choices=sorted({r for _, r, _ in POINTS}),
                        help="only the points with this many rows per request (e.g. 100)")
    parser.add_argument("--skip-swap", action="store_true", help="skip the hot-swap-under-load point")
    parser.add_argument("--compare-offload", action="store_true",
                        help="also run mloop with the alternatives: bodies above 1 KiB in worker threads "
                             "(the 100-row points) and no worker process, 5 MB bodies in threads (stall point)")
    parser.add_argument("--skip-stall", action="store_true",
                        help="skip the point with two 5 MB senders and a single-row probe")
    parser.add_argument("--skip-shadow", action="store_true", help="skip the points without/with a shadow variant")
    parser.add_argument("--only-shadow", action="store_true",
                        help="only the points without/with a shadow variant (and no MLflow or KServe server)")
    args = parser.parse_args()
    if args.only_shadow:
        args.skip_mlflow = args.skip_kserve = args.skip_swap = args.skip_stall = True
    if shutil.which("wrk") is None:
        sys.exit("bench/serving.py drives the servers with wrk: install it first (apt-get install -y wrk)")
    print(f"load average at start {os.getloadavg()}", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    ws, model, mdir = build(tmp / "ws")
    procs, urls = start_servers(args, tmp, mdir)
    try:
        # every worker has its model (a first /ping answers once one of them has)
        wait_until(lambda: all(httpx.get(f"{urls['mloop']}/ping", timeout=2).status_code == 200 for _ in range(20)),
                   timeout=120, what="every mloop worker ready")
        diffs = check(urls["mloop"], urls["mlflow"], model, urls["kserve"])  # type: ignore[arg-type]
        results = [] if args.only_shadow else run_points(urls, args.seconds, tmp, args.rows)
        shadow = None if args.skip_shadow else shadow_points(ws, urls["mloop"], procs[0].pid,  # type: ignore[arg-type]
                                                             args.seconds, tmp)
        stall = None if args.skip_stall else stall_points(urls, args.seconds, tmp)
        swap = None if args.skip_swap else swap_under_load(ws, urls["mloop"], args.seconds, tmp)  # type: ignore[arg-type]
        if swap is not None:
            print(f"hot swap under load (deploy, set-weights, promote, rollback): {swap['rps']:.0f} req/s, "
                  f"non-2xx {swap['non_2xx']:.0f}, socket errors '{swap['socket_errors']}'", flush=True)
    finally:
        stop_all(procs)
    report = {"seconds_per_point": args.seconds, "workers": args.workers, "batching": True, "cpus": os.cpu_count(),
              "model": "ad-click XGBoost 100 trees depth 6, 6 raw features (one-hot inside)",
              "servers": {"mloop": True, "mlflow": bool(urls["mlflow"]),
                          "kserve": kserve_version(urls, args) if urls["kserve"] else None},
              "max_abs_diff_vs_in_process": diffs, "in_process_floor": {
                  "1_row": floor(model, 1), "100_rows": floor(model, 100)}, "points": results,
              "hot_swap_under_load": swap, "two_5mb_senders_and_a_probe": stall, "rows_only": args.rows,
              "without_and_with_a_shadow": shadow,
              "load_average": os.getloadavg()}
    # a filtered run must not overwrite the full report
    full = args.rows is None and not (args.skip_swap or args.skip_stall or args.only_shadow or args.skip_shadow)
    out = ROOT / "bench" / "results" / ("serving.json" if full else "serving-partial.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"in-process predict_records floor: 1 row p50 {report['in_process_floor']['1_row']['p50_ms']:.3f} ms, "
          f"100 rows p50 {report['in_process_floor']['100_rows']['p50_ms']:.3f} ms")
    print(f"load average {report['load_average']}; wrote {out}")


def print_row(row: dict[str, Any]) -> None:
    m = row["mloop"]
    line = (f"{row['format']:>4} {row['rows']:>3} rows c={row['connections']:<3} mloop {m['rps']:>8.0f} req/s "
            f"p50 {m['p50_ms']:7.3f} ms p99 {m['p99_ms']:7.3f} ms (non-2xx {m['non_2xx']:.0f})")
    if "mloop_alternative" in row:
        o = row["mloop_alternative"]
        line += f" | threads {o['rps']:>6.0f} req/s p50 {o['p50_ms']:6.2f} p99 {o['p99_ms']:6.2f}"
    if "mloop_no_batching" in row:
        n = row["mloop_no_batching"]
        line += f" | no-batching {n['rps']:>6.0f} req/s p50 {n['p50_ms']:6.3f} p99 {n['p99_ms']:6.2f}"
    if "mlflow" in row:
        f = row["mlflow"]
        line += (f" | mlflow {f['rps']:>7.0f} req/s p50 {f['p50_ms']:7.2f} ms p99 {f['p99_ms']:7.2f} ms"
                 f" | x{row['ratio_rps']:.1f}")
    if "kserve" in row:
        k = row["kserve"]
        line += (f" | kserve v1 {k['rps']:>6.0f} req/s p50 {k['p50_ms']:6.2f} ms p99 {k['p99_ms']:6.2f} ms"
                 f" (non-2xx {k['non_2xx']:.0f}) | x{row['ratio_rps_kserve']:.1f}")
    print(line, flush=True)


if __name__ == "__main__":
    main()
