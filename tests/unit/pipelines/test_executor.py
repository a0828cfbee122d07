from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mloop.pipelines import clone_run, get_run, list_runs, retry_run, run_pipeline, step_logs
from mloop.pipelines.runs import load_artifact
from mloop.pipelines.tables import artifact_uses, artifacts
from tests.support import example_pipeline as ex


def run(ws: Any, pipeline: Any, params: dict | None = None, **kw: Any):
    return run_pipeline(ws, pipeline, params, tracking=False, **kw)


def statuses(record: Any) -> dict[str, str]:
    return {s.name: s.status for s in record.steps}


def test_run_records_steps_artifacts_and_condition(workspace: Any) -> None:
    record = run(workspace, ex.example, {"depth": "5"})  # strings convert to the declared type
    assert record.status == "Succeeded", record.error
    assert statuses(record) == {
        "load": "Succeeded", "split": "Succeeded", "train": "Succeeded", "evaluate": "Succeeded",
        "condition-1": "Succeeded", "register": "Succeeded", "alert": "Skipped"}
    assert record.params["depth"] == 5
    assert record.step("train").metrics == {"rows": 30.0, "importance.x": 0.7}
    assert "auc" in record.step("alert").message
    split = record.step("split")
    assert split.outputs["train"]["format"] == "parquet"
    assert split.outputs["train"]["type"] == "pandas.DataFrame"
    assert record.step("evaluate").inputs == {
        "model": record.step("train").outputs["output"]["digest"],
        "test": split.outputs["test"]["digest"]}
    assert load_artifact(workspace, record.id, "register") == "registered auc=0.85"
    with workspace.db.begin() as conn:
        uses = conn.execute(select(artifacts.c.output_name, artifact_uses.c.input_name)
                            .join(artifact_uses).where(artifacts.c.producer_step_run_id == split.id))
        assert sorted(map(tuple, uses)) == [("test", "test"), ("train", "data")]
    assert "loading 40 rows" in step_logs(workspace, record.id, "load")["load"]


def test_else_branch_and_full_cache(workspace: Any) -> None:
    first = run(workspace, ex.example, {"auc_threshold": 0.99})
    assert statuses(first)["register"] == "Skipped" and statuses(first)["alert"] == "Succeeded"
    again = run(workspace, ex.example, {"auc_threshold": 0.99})
    assert [s.status for s in again.steps[:4]] == ["Cached"] * 4
    assert again.step("train").cached_from == first.step("train").id
    assert again.step("train").metrics == first.step("train").metrics
    assert statuses(again)["alert"] == "Succeeded"  # Alert never caches


def test_cache_key_changes(workspace: Any) -> None:
    base = run(workspace, ex.example)
    deeper = run(workspace, ex.example, {"depth": 4})  # parameter change: train onwards re-run
    assert [statuses(deeper)[s] for s in ("load", "split", "train", "evaluate")] == \
        ["Cached", "Cached", "Succeeded", "Succeeded"]
    more = run(workspace, ex.example, {"n": 60})  # input change propagates downstream
    assert statuses(more)["split"] == "Succeeded" and statuses(more)["train"] == "Succeeded"
    forced = run(workspace, ex.example, no_cache=True)
    assert statuses(forced)["load"] == "Succeeded"
    # a deleted artifact is not a cache hit
    for rec in (base, forced):
        workspace.artifacts.delete(rec.step("load").outputs["output"]["digest"])
    assert statuses(run(workspace, ex.example))["load"] == "Succeeded"


def test_corrupt_artifact_re_executes(workspace: Any) -> None:
    first = run(workspace, ex.example)
    digest = first.step("train").outputs["output"]["digest"]
    Path(workspace.artifacts.fs_path(digest)).write_text('{"tampered": true}')
    assert statuses(run(workspace, ex.example))["train"] == "Succeeded"
    # the re-run healed the stored object: it verifies, and the next run reuses it
    workspace.artifacts.verify(digest)
    assert statuses(run(workspace, ex.example))["train"] == "Cached"


def test_code_digest_follows_project_local_callees(tmp_path: Path, monkeypatch: Any) -> None:
    import importlib
    import sys

    from mloop.pipelines.cache import code_digest

    monkeypatch.syspath_prepend(str(tmp_path))
    mod = tmp_path / "userproj_steps.py"
    mod.write_text("def helper(x):\n    return x + 1\n\ndef my_step(x):\n    return helper(x)\n")
    first = code_digest(importlib.import_module("userproj_steps").my_step)
    mod.write_text("def helper(x):\n    return x + 2\n\ndef my_step(x):\n    return helper(x)\n")
    sys.modules.pop("userproj_steps")
    second = code_digest(importlib.import_module("userproj_steps").my_step)
    assert first != second
    assert code_digest(ex.add, "1") == code_digest(ex.load, "1")  # explicit version wins


def test_feature_group_version_joins_the_cache_key(workspace: Any, tmp_path: Path) -> None:
    from mloop.features import create_group, data_version, infer_spec, ingest
    from mloop.pipelines import pipeline

    csv = tmp_path / "rows.csv"
    csv.write_text("id,event_time,v\n1,2024-01-01T00:00:00,1.5\n")
    create_group(workspace, infer_spec(csv, "fg-cache", "id", "event_time"))
    ingest(workspace, csv, "fg-cache")

    @pipeline(name="fg")
    def fg(group: str = "fg-cache") -> None:
        ex.read_group(group)

    assert statuses(run(workspace, fg))["read_group"] == "Succeeded"
    assert statuses(run(workspace, fg))["read_group"] == "Cached"
    csv2 = tmp_path / "more.csv"
    csv2.write_text("id,event_time,v\n2,2024-01-02T00:00:00,2.5\n")
    before = data_version(workspace, "fg-cache")
    ingest(workspace, csv2, "fg-cache")
    assert data_version(workspace, "fg-cache") > before
    assert statuses(run(workspace, fg))["read_group"] == "Succeeded"


def test_independent_branches_run_in_parallel(workspace: Any) -> None:
    # Each branch waits on a 2-party barrier: the run only succeeds if both execute at once.
    record = run(workspace, ex.parallel, {"seconds": 0.1})
    assert record.status == "Succeeded", record.error
    assert load_artifact(workspace, record.id, "add") == 3


def test_retries_with_backoff(workspace: Any, tmp_path: Path) -> None:
    from mloop.pipelines import pipeline, step

    flaky = step(retries=2, retry_delay=0.01)(ex.flaky.func)

    @pipeline(name="flaky")
    def p(marker: str = str(tmp_path / "count")) -> None:
        flaky(marker, 2)

    record = run(workspace, p)
    assert record.status == "Succeeded"
    assert record.step("flaky").attempts == 3
    assert "attempt 1 failed: RuntimeError: flaky failure 1; retrying" in \
        step_logs(workspace, record.id)["flaky"]


def test_failure_then_retry_reuses_succeeded_steps(workspace: Any, tmp_path: Path) -> None:
    marker = tmp_path / "fixed"
    failed = run(workspace, ex.fail_then_fix, {"marker": str(marker)})
    assert failed.status == "Failed"
    assert failed.error == "step 'guarded' failed: ValueError: the input is not ready"
    assert "Traceback" in failed.step("guarded").error
    marker.write_text("ok")
    retried = retry_run(workspace, failed.id, tracking=False)
    assert retried.status == "Succeeded"
    assert (retried.origin_run_id, retried.origin_kind) == (failed.id, "retry")
    assert retried.step("add").status == "Cached"
    assert retried.step("add").cached_from == failed.step("add").id
    cloned = clone_run(workspace, retried.id, {"n": 7}, tracking=False)
    assert cloned.origin_kind == "clone" and cloned.params["n"] == 7
    assert load_artifact(workspace, cloned.id, "guarded") == 9
    ids = [r["id"] for r in list_runs(workspace, pipeline="fail-then-fix")]
    assert ids[:3] == [cloned.id, retried.id, failed.id]


def test_process_isolation_timeouts_and_kills(workspace: Any) -> None:
    from mloop.pipelines import pipeline

    @pipeline(name="isolated")
    def p() -> None:
        ex.whoami()
        ex.hang_thread()
        ex.hang_process()
        ex.killed()

    record = run(workspace, p)
    assert record.status == "Failed"
    assert load_artifact(workspace, record.id, "whoami") != os.getpid()
    assert "in a child process" in step_logs(workspace, record.id, "whoami")["whoami"]
    assert record.step("hang_thread").message == "timed out after 0.3 s"
    assert record.step("hang_process").message == "timed out after 0.5 s (process killed)"
    assert record.step("killed").message == "killed by signal SIGKILL"


def test_ctrl_c_stops_the_run_and_retry_finishes_it(workspace: Any, tmp_path: Path) -> None:
    # Python's own Ctrl-C handler, as `mloop run` has it (pytest-xdist's workers ignore SIGINT)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        stopped = run(workspace, ex.interruptible, {"marker": str(tmp_path / "interrupted")}, workers=1)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert stopped.status == "Stopped"
    assert "Stopped" in statuses(stopped).values()
    assert not any(s.outputs for s in stopped.steps if s.status == "Stopped")
    finished = retry_run(workspace, stopped.id, tracking=False)
    assert finished.status == "Succeeded"
    assert load_artifact(workspace, finished.id, "add-2") == 4  # 1 + (1 + 2)


def test_unknown_parameter_and_pipeline(workspace: Any) -> None:
    from mloop.errors import InvalidInput
    from mloop.pipelines import PipelineNotFound

    with pytest.raises(InvalidInput, match="has no parameter 'detph'") as info:
        run(workspace, ex.example, {"detph": 3})
    assert "did you mean 'depth'" in (info.value.hint or "")
    with pytest.raises(PipelineNotFound):
        run(workspace, "no-such-pipeline")
    with pytest.raises(InvalidInput, match="cannot be 'x'"):
        run(workspace, ex.example, {"n": "x"})
    assert get_run  # exported


def test_step_logs_are_stored_as_plain_text(workspace: Any) -> None:
    record = run(workspace, ex.colours)
    text = step_logs(workspace, record.id, "colourful")["colourful"]
    assert "WARNING mlflow says careful" in text and "green record" in text
    assert "\x1b" not in text


class _InterruptAtStart:
    """A hook that is interrupted while it starts the run (as MLflow's parent run can be)."""

    def run_started(self, run: Any) -> None:
        raise KeyboardInterrupt

    def __getattr__(self, name: str) -> Any:
        return lambda *args: None


def test_ctrl_c_while_the_run_starts_stops_it(workspace: Any) -> None:
    stopped = run(workspace, ex.example, hooks=[_InterruptAtStart()])
    assert stopped.status == "Stopped"
    assert {s.status for s in stopped.steps} == {"Pending"}
    assert retry_run(workspace, stopped.id, tracking=False).status == "Succeeded"
