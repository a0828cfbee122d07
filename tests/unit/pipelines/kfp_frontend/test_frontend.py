"""KFP-SDK pipelines on mloop's executor: data, control flow, caching, retry, clone, refusals."""


from pathlib import Path
from typing import Any

import pytest
from kfp import compiler, dsl

from mloop.errors import InvalidInput
from mloop.pipelines import clone_run, retry_run, run_pipeline, step_logs
from mloop.pipelines.kfp_frontend import KfpUnsupported, load, load_object
from mloop.pipelines.runs import load_artifact
from tests.unit.pipelines.kfp_frontend import kfp_example as ex

MODULE = "tests.unit.pipelines.kfp_frontend.kfp_example"
FILE = Path(ex.__file__)


def run(ws: Any, ref: Any, params: dict[str, Any] | None = None, **kw: Any) -> Any:
    return run_pipeline(ws, ref, params, tracking=False, **kw)


def statuses(record: Any) -> dict[str, str]:
    return {s.name: s.status for s in record.steps}


@pytest.mark.slow  # the first KFP run starts the warm worker (imports kfp)
def test_artifacts_parameters_condition_cache_and_clone(workspace: Any) -> None:
    record = run(workspace, f"{MODULE}:basic")  # pkg.module:function
    assert record.status == "Succeeded", record.error
    # dsl.If/Else compile to one DAG (condition-branches-1): one step, its tasks a row each
    assert statuses(record) == {"make-rows": "Succeeded", "train": "Succeeded",
                                "condition-branches-1": "Succeeded",
                                "condition-branches-1/condition-2": "Succeeded",
                                "condition-branches-1/condition-2/say": "Succeeded",
                                "condition-branches-1/condition-3": "Skipped",
                                "condition-branches-1/condition-3/say-2": "Skipped"}
    assert load_artifact(workspace, record.id, "train", "Output") == 12.0  # (0+1+2+3) * 2.0
    train = record.step("train")
    assert train.metrics == {"total": 12.0}  # the Metrics artifact
    assert train.inputs["a:rows"] == record.step("make-rows").outputs["rows"]["digest"]
    branches = step_logs(workspace, record.id, "condition-branches-1")["condition-branches-1"]
    assert "big" in branches and "condition-branches-1/condition-3: Skipped" in branches
    again = run(workspace, str(FILE) + ":basic")  # path/to/module.py:function, same content
    assert statuses(again)["make-rows"] == statuses(again)["train"] == "Cached"
    clone = clone_run(workspace, record.id, {"n": "2"}, tracking=False)  # 1 * 2.0 < threshold
    assert clone.status == "Succeeded", clone.error
    branches = step_logs(workspace, clone.id, "condition-branches-1")["condition-branches-1"]
    assert "small" in branches and "condition-branches-1/condition-2: Skipped" in branches


def test_parallel_for_with_collected_and_list_param(workspace: Any) -> None:
    record = run(workspace, f"{MODULE}:loops")
    assert record.status == "Succeeded", record.error
    assert load_artifact(workspace, record.id, "total", "Output") == 14
    other = run(workspace, f"{MODULE}:loops", {"items": "[2, 3]"})
    assert load_artifact(workspace, other.id, "total", "Output") == 13


def test_set_retry_then_runs_retry_finishes_a_failed_run(workspace: Any, tmp_path: Path) -> None:
    counter = tmp_path / "count"
    record = run(workspace, f"{MODULE}:retrying", {"counter_path": str(counter)})
    assert record.status == "Succeeded", record.error
    assert load_artifact(workspace, record.id, "flaky", "Output") == "ok after 2"
    assert "attempt 1 failed" in step_logs(workspace, record.id, "flaky")["flaky"]
    counter.unlink()
    failed = run(workspace, f"{MODULE}:retrying", {"counter_path": str(counter), "fail_times": 4})
    assert failed.status == "Failed"
    assert "after 3 attempts" in (failed.error or "")
    fixed = retry_run(workspace, failed.id, tracking=False)
    assert fixed.status == "Succeeded", fixed.error
    assert load_artifact(workspace, fixed.id, "flaky", "Output") == "ok after 5"


def test_exit_handler_runs_after_a_failure_and_the_run_fails(workspace: Any, tmp_path: Path) -> None:
    record = run(workspace, f"{MODULE}:exit_handled", {"counter_path": str(tmp_path / "c")})
    assert record.status == "Failed"
    assert "failing on purpose" in step_logs(workspace, record.id)["kfp-exit"]
    assert "cleanup" in step_logs(workspace, record.id)["kfp-exit"]


def test_yaml_entry_point_and_required_inputs(workspace: Any, tmp_path: Path) -> None:
    path = tmp_path / "retry.yaml"
    compiler.Compiler().compile(ex.retrying, str(path))
    with pytest.raises(InvalidInput, match="needs a value for 'counter_path'"):
        run(workspace, str(path))
    record = run(workspace, str(path), {"counter_path": str(tmp_path / "n"), "fail_times": "0"})
    assert record.status == "Succeeded", record.error


@dsl.container_component
def shout(message: str, out: dsl.OutputPath(str)):  # type: ignore[valid-type,no-untyped-def]
    return dsl.ContainerSpec(image="alpine:3", command=["sh", "-c", 'printf "%s!" "$0" > "$1"'],
                             args=[message, out])


@dsl.component(packages_to_install=["surely-not-an-installed-package==1.0"])
def needs_package() -> None:
    pass


@dsl.pipeline(name="kfp-container")
def with_container(message: str = "hey") -> str:
    return shout(message=message).output


@dsl.pipeline(name="kfp-package")
def with_package() -> None:
    needs_package()


def test_container_components_need_host_and_packages_are_checked(workspace: Any) -> None:
    with pytest.raises(KfpUnsupported) as refused:
        load_object(with_container, "with_container")
    assert "`--containers host`" in refused.value.message and "comp-shout (alpine:3)" in refused.value.message
    allowed = load_object(with_container, "with_container", containers="host")
    record = run(workspace, allowed.graph)
    assert record.status == "Succeeded", record.error
    assert load_artifact(workspace, record.id, "shout", "out") == "hey!"
    with pytest.raises(KfpUnsupported, match=r"surely-not-an-installed-package==1.0.*pip install"):
        load_object(with_package, "with_package")


def test_not_a_pipeline_is_named(workspace: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("just: text\n")
    with pytest.raises(KfpUnsupported, match="not a KFP v2 pipeline spec"):
        load(workspace, str(bad))
    with pytest.raises(KfpUnsupported, match=r"not a @dsl\.pipeline"):
        load(workspace, f"{FILE}:dsl")  # a module, not a pipeline
