"""Small importable steps and pipelines for the pipelines, KFP and dashboard tests (other processes import them)."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pandas as pd

from mloop.pipelines import Else, FeatureGroupName, If, current_context, get_run, pipeline, step

BARRIER = threading.Barrier(2, timeout=10)


def helper(x: int) -> int:
    return x * 2


@step
def load(n: int) -> pd.DataFrame:
    print(f"loading {n} rows")
    return pd.DataFrame({"x": range(n), "y": [helper(i) % 3 for i in range(n)]})


@step(outputs=("train", "test"))
def split(df: pd.DataFrame, test_size: float = 0.25) -> tuple[pd.DataFrame, pd.DataFrame]:
    cut = int(len(df) * (1 - test_size))
    return df.iloc[:cut], df.iloc[cut:]


@step(kind="Training")
def train(data: pd.DataFrame, depth: int = 3) -> dict:
    current_context().log_metrics({"rows": len(data), "importance.x": 0.7})
    return {"depth": depth, "mean": float(data["y"].mean())}


@step(kind="Evaluation")
def evaluate(model: dict, test: pd.DataFrame) -> dict:
    return {"auc": 0.8 + model["depth"] / 100, "rows": len(test)}


@step(kind="RegisterModel")
def register(report: dict) -> str:
    return f"registered auc={report['auc']:.2f}"


@step(kind="Alert")
def alert(report: dict) -> str:
    return f"alert auc={report['auc']:.2f}"


@pipeline(name="example")
def example(n: int = 40, depth: int = 3, auc_threshold: float = 0.82, experiment_name: str = ""):
    """A small train/evaluate/gate pipeline."""
    train_df, test_df = split(load(n))
    report = evaluate(train(train_df, depth), test_df)
    with If(report["auc"] >= auc_threshold):
        register(report)
    with Else():
        alert(report)


@pipeline(name="kfp-style")
def kfp_style(n: int = 12, depth: int = 2):
    """The example wired as KFP code is: `.output` of a single-output step, `.outputs[...]` by name."""
    pre = split(load(n).output)
    evaluate(train(pre.outputs["train"], depth).output, pre.outputs["test"])


@step
def slow_a(seconds: float) -> int:
    BARRIER.wait()  # both branches must be running at once to pass
    time.sleep(seconds)
    return 1


@step
def slow_b(seconds: float) -> int:
    BARRIER.wait()
    time.sleep(seconds)
    return 2


@step
def add(a: int, b: int) -> int:
    return a + b


@pipeline(name="parallel")
def parallel(seconds: float = 0.2):
    add(slow_a(seconds), slow_b(seconds))


@step
def flaky(marker: str, failures: int) -> int:
    """Fails `failures` times (counted in a file), then succeeds."""
    path = Path(marker)
    count = int(path.read_text()) if path.exists() else 0
    path.write_text(str(count + 1))
    if count < failures:
        raise RuntimeError(f"flaky failure {count + 1}")
    return count


@step
def guarded(value: int, marker: str) -> int:
    """Raises until the marker file exists (a bug the user fixes before retrying)."""
    if not Path(marker).exists():
        raise ValueError("the input is not ready")
    return value + 1


@pipeline(name="fail-then-fix")
def fail_then_fix(marker: str = "", n: int = 5):
    guarded(add(n, 1), marker)


@step(isolation="process")
def whoami() -> int:
    print("in a child process")
    return os.getpid()


@step(isolation="process", timeout=0.5)
def hang_process() -> int:
    time.sleep(30)
    return 0


@step(timeout=0.3)
def hang_thread() -> int:
    time.sleep(3)
    return 0


@step(isolation="process")
def killed() -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    return 0


@step
def interrupt(marker: str) -> int:
    """Sends Ctrl-C to the run the first time (then behaves).

    It returns only once the run is recorded Stopped: returning after a fixed sleep let a loaded
    machine finish the run before the main thread handled the signal (the test's race, not the
    executor's). If the executor lost the interrupt, the wait ends and the run reads Succeeded.
    """
    if not Path(marker).exists():
        Path(marker).write_text("1")
        ctx = current_context()
        os.kill(os.getpid(), signal.SIGINT)
        deadline = time.monotonic() + 60
        while get_run(ctx.workspace, ctx.run_id).status != "Stopped" and time.monotonic() < deadline:
            time.sleep(0.01)
    return 1


@pipeline(name="interruptible")
def interruptible(marker: str = ""):
    add(interrupt(marker), add(1, 2))


@step
def read_group(group: FeatureGroupName) -> int:
    return len(group)


BEFORE_SAVE: list = []  # callables a test sets to break a store between two steps


@step
def break_store(df: pd.DataFrame) -> pd.DataFrame:
    for hook in BEFORE_SAVE:
        hook()
    return df.assign(z=df["x"] + 1)


@pipeline(name="store-break")
def store_break(n: int = 10):
    """load -> break_store (a test's hook refuses writes before its output is saved) -> split."""
    split(break_store(load(n)))


@pipeline(name="outage")
def outage(n: int = 40, depth: int = 3):
    """load -> break_store (a test's hook stops a server) -> split -> train -> evaluate."""
    train_df, test_df = split(break_store(load(n)))
    evaluate(train(train_df, depth), test_df)


@step
def colourful(n: int) -> int:
    import logging

    print("\x1b[33mWARNING\x1b[0m mlflow says \x1b[1;31mcareful\x1b[0m")
    logging.getLogger("mlflow.fake").warning("\x1b[32mgreen\x1b[0m record")
    return n


@pipeline(name="colours")
def colours(n: int = 1):
    colourful(n)
