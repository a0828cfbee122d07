"""The tasks inside a loop, condition or nested-pipeline step: a step-run row each (status, log,
outputs with digests), `runs show`/`runs logs` by inner name, lineage, and retry that re-runs
only the loop iteration that failed."""

from pathlib import Path
from typing import Any

import jsonschema
import pytest

from mloop.lineage.schema import component
from mloop.pipelines import retry_run, run_pipeline, step_logs
from mloop.pipelines.runs import load_artifact

MODULE = "tests.unit.pipelines.kfp_frontend.kfp_example"
pytestmark = pytest.mark.slow  # the first KFP run starts the warm worker (imports kfp)


def run(ws: Any, ref: str, params: dict[str, Any] | None = None) -> Any:
    return run_pipeline(ws, f"{MODULE}:{ref}", params, tracking=False)


def statuses(record: Any) -> dict[str, str]:
    return {s.name: s.status for s in record.steps}


def test_condition_branches_are_rows_and_the_branch_not_taken_is_skipped(workspace: Any) -> None:
    record = run(workspace, "basic")
    assert record.status == "Succeeded", record.error
    got = statuses(record)
    print(got)
    assert got["condition-branches-1/condition-2/say"] == "Succeeded"
    assert got["condition-branches-1/condition-3"] == "Skipped"
    assert got["condition-branches-1/condition-3/say-2"] == "Skipped"
    names = [s.name for s in record.steps]  # inner rows follow their step
    assert names.index("condition-branches-1") < names.index("condition-branches-1/condition-2/say")
    say = record.step("condition-branches-1/condition-2/say")
    assert say.outputs["Output"]["digest"] and say.cache_key
    assert load_artifact(workspace, record.id, say.name, "Output") == "big"
    assert "big" in step_logs(workspace, record.id, say.name)[say.name]


def test_failed_iteration_then_fixed_and_retried_runs_only_that_iteration(
        workspace: Any, tmp_path: Path) -> None:
    log, fix = tmp_path / "executions", tmp_path / "fixed"
    params = {"log_path": str(log), "fix_path": str(fix)}
    failed = run(workspace, "loop_retry", params)
    assert failed.status == "Failed"
    loop = next(s.name for s in failed.steps if s.name.startswith("for-loop") and "/" not in s.name)
    got = statuses(failed)
    assert got[loop] == "Failed" and got["total"] == "Pending"
    assert {got[f"{loop}[{i}]/work"] for i in (0, 2)} == {"Succeeded"}
    assert got[f"{loop}[1]/work"] == "Failed"
    assert "broken until fixed" in step_logs(workspace, failed.id, f"{loop}[1]/work")[f"{loop}[1]/work"]
    assert sorted(log.read_text().split()) == ["1", "2", "3"]

    fix.write_text("yes")
    retried = retry_run(workspace, failed.id, tracking=False)
    assert retried.status == "Succeeded", retried.error
    assert sorted(log.read_text().split()) == ["1", "2", "2", "3"]  # only item 2 ran again
    got = statuses(retried)
    assert got[f"{loop}[0]/work"] == got[f"{loop}[2]/work"] == "Cached"
    assert got[f"{loop}[1]/work"] == "Succeeded" and got["make-items"] == "Cached"
    assert load_artifact(workspace, retried.id, "total", "Output") == 60
    first = retried.step(f"{loop}[0]/work")
    assert first.outputs == failed.step(f"{loop}[0]/work").outputs  # the same stored content
    assert first.cached_from == failed.step(f"{loop}[0]/work").id


def test_nested_pipeline_tasks_and_their_artifacts_in_lineage(workspace: Any) -> None:
    from mloop import lineage

    record = run(workspace, "nested", {"n": 3})
    assert record.status == "Succeeded", record.error
    assert [s.name for s in record.steps] == [
        "kfp-inner", "kfp-inner/make-rows", "kfp-inner/train", "say"]  # the sub-pipeline's step first
    group = "kfp-inner"
    rows = record.step(f"{group}/make-rows"), record.step(f"{group}/train")
    assert [r.status for r in rows] == ["Succeeded", "Succeeded"]
    assert rows[1].metrics == {"total": 3.0}  # its Metrics artifact
    assert rows[1].inputs["rows"] == rows[0].outputs["rows"]["digest"]  # the inner data edge
    assert load_artifact(workspace, record.id, rows[1].name, "Output") == 3.0
    answer = lineage.pipeline(workspace, "kfp-nested", run_id=record.id)
    jsonschema.validate(answer, component("lineage"))  # seed 004's schema, `run.tasks` included
    node = next(n for n in answer["graph"]["nodes"] if n["id"] == group)
    tasks = {t["name"]: t for t in node["run"]["tasks"]}
    assert tasks[f"{group}/train"]["status"] == "Succeeded"
    digests = {a["digest"] for a in answer["graph"]["artifacts"]}
    assert rows[0].outputs["rows"]["digest"] in digests and rows[1].outputs["model"]["digest"] in digests


def test_runs_show_and_logs_name_an_inner_task(workspace: Any, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from mloop.cli.main import app

    monkeypatch.chdir(workspace.root)
    failed = run(workspace, "loop_retry", {"log_path": str(tmp_path / "log"), "fix_path": str(tmp_path / "no")})
    task = next(s.name for s in failed.steps if s.name.endswith("[1]/work"))
    cli = CliRunner()
    shown = cli.invoke(app, ["runs", "show", failed.id, task])
    assert shown.exit_code == 0, shown.output
    assert f"step {task} of run {failed.id}: Failed" in shown.output and "exit code 1" in shown.output
    ok = next(s for s in failed.steps if s.name.endswith("[0]/work"))
    shown = cli.invoke(app, ["runs", "show", failed.id, ok.name])
    assert ok.outputs["Output"]["digest"] in shown.output
    logs = cli.invoke(app, ["runs", "logs", failed.id, task])
    assert logs.exit_code == 0 and "broken until fixed" in logs.output and ok.name not in logs.output
    missing = cli.invoke(app, ["runs", "show", failed.id, "for-loop-9[1]/work"])
    assert missing.exit_code != 0 and "has no step 'for-loop-9[1]/work'" in str(missing.exception)


def test_retry_runs_the_exit_task_again_after_the_fixed_task(workspace: Any, tmp_path: Path) -> None:
    counter = tmp_path / "c"
    failed = run(workspace, "exit_handled", {"counter_path": str(counter)})
    assert failed.status == "Failed"
    got = statuses(failed)
    assert got["kfp-exit/say"] == "Succeeded" and got["kfp-exit/exit-handler-1/flaky"] == "Failed"
    counter.write_text("5")  # flaky fails while its count is below 5: now it succeeds
    retried = retry_run(workspace, failed.id, tracking=False)
    assert retried.status == "Succeeded", retried.error
    assert statuses(retried)["kfp-exit/exit-handler-1/flaky"] == "Succeeded"
    assert statuses(retried)["kfp-exit/say"] == "Succeeded"  # executed again, not reused
    assert "cleanup" in step_logs(workspace, retried.id, "kfp-exit/say")["kfp-exit/say"]
