"""KFP-SDK pipelines the front-end tests run (no `from __future__ import annotations`: kfp
reads the annotations as types)."""


from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output


@dsl.component
def make_rows(n: int, rows: Output[Dataset]) -> int:
    with open(rows.path, "w") as fh:
        fh.write("\n".join(str(i) for i in range(n)))
    rows.metadata["n"] = n
    return n


@dsl.component
def train(rows: Input[Dataset], scale: float, model: Output[Model], metrics: Output[Metrics]) -> float:
    with open(rows.path) as fh:
        total = sum(int(line) for line in fh.read().split())
    with open(model.path, "w") as fh:
        fh.write(str(total * scale))
    metrics.log_metric("total", total * scale)
    return total * scale


@dsl.component
def flaky(counter_path: str, fail_times: int) -> str:
    import os

    count = 0
    if os.path.exists(counter_path):
        with open(counter_path) as fh:
            count = int(fh.read())
    with open(counter_path, "w") as fh:
        fh.write(str(count + 1))
    if count < fail_times:
        raise RuntimeError(f"failing on purpose ({count + 1})")
    return f"ok after {count + 1}"


@dsl.component
def square(x: int) -> int:
    return x * x


@dsl.component
def total(values: list) -> int:
    return sum(values)


@dsl.component
def say(message: str) -> str:
    print(message)
    return message


@dsl.pipeline(name="kfp-basic")
def basic(n: int = 4, scale: float = 2.0, threshold: float = 5.0) -> float:
    made = make_rows(n=n)
    trained = train(rows=made.outputs["rows"], scale=scale)
    with dsl.If(trained.outputs["Output"] >= threshold):
        say(message="big")
    with dsl.Else():
        say(message="small")
    return trained.outputs["Output"]


@dsl.pipeline(name="kfp-loops")
def loops(items: list = [1, 2, 3]) -> int:  # noqa: B006 (KFP defaults are literals)
    with dsl.ParallelFor(items, parallelism=2) as item:
        squared = square(x=item)
    return total(values=dsl.Collected(squared.output)).output


@dsl.pipeline(name="kfp-retry")
def retrying(counter_path: str, fail_times: int = 1) -> str:
    task = flaky(counter_path=counter_path, fail_times=fail_times)
    task.set_caching_options(False)
    task.set_retry(num_retries=2, backoff_duration="0s", backoff_factor=1.0)
    return task.output


@dsl.pipeline(name="kfp-exit")
def exit_handled(counter_path: str) -> None:
    cleanup = say(message="cleanup")
    with dsl.ExitHandler(cleanup):
        flaky(counter_path=counter_path, fail_times=5).set_caching_options(False)


@dsl.component
def log_with_mlflow(x: int) -> int:
    import mlflow  # MLFLOW_RUN_ID names the task's nested run: no start_run needed

    mlflow.log_metric("from_component", x)
    return x


@dsl.pipeline(name="kfp-tracked")
def tracked(n: int = 4, scale: float = 2.0) -> float:
    made = make_rows(n=n)
    trained = train(rows=made.outputs["rows"], scale=scale)
    with dsl.If(trained.outputs["Output"] >= 5.0):
        say(message="big")
    with dsl.ParallelFor([1, 2]) as item:
        log_with_mlflow(x=item)
    return trained.outputs["Output"]
