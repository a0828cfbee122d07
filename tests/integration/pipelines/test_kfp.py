"""Compile to KFP v2, load it back with the kfp SDK, then run every task as its own process."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from mloop.pipelines import get_run
from mloop.pipelines.kfp import compile_kfp
from tests.integration.pipelines.kfp_runner import Runner, task_env
from tests.support import example_pipeline as ex

pytestmark = pytest.mark.slow


def test_compiled_spec_loads_back(tmp_path: Path) -> None:
    from kfp import components

    out = tmp_path / "example.yaml"
    info = compile_kfp(None, ex.example, out, image="registry.local/proj:1", name="example")
    assert info["tasks"] == list(ex.example.graph.nodes)
    loaded = components.load_component_from_file(str(out))
    spec = loaded.pipeline_spec
    assert set(spec.root.input_definitions.parameters) == {"n", "depth", "auc_threshold", "experiment_name"}
    tasks = spec.root.dag.tasks
    assert set(tasks) == {"step-load", "step-split", "step-train", "step-evaluate",
                          "step-condition-1", "condition-1", "condition-2"}
    assert list(tasks["step-evaluate"].dependent_tasks) == ["step-split", "step-train"]
    conditions = {name: tasks[name].trigger_policy.condition for name in ("condition-1", "condition-2")}
    assert all("pipelinechannel--step-condition-1-result" in c for c in conditions.values())
    assert conditions["condition-1"].endswith("== 'true'") and conditions["condition-2"].endswith("== 'false'")
    raw = yaml.safe_load(out.read_text())
    container = raw["deploymentSpec"]["executors"]["exec-step-train"]["container"]
    assert container["image"] == "registry.local/proj:1"
    assert container["command"] == ["mloop", "step", "exec"]
    assert "--graph-hash" in container["args"]


def test_kfp_style_output_wiring_compiles(tmp_path: Path) -> None:
    """`.output` / `.outputs[...]` wiring compiles to the same task dependencies as unpacking."""
    from kfp import components

    out = tmp_path / "kfp-style.yaml"
    compile_kfp(None, ex.kfp_style, out, name="kfp-style")
    tasks = components.load_component_from_file(str(out)).pipeline_spec.root.dag.tasks
    assert list(tasks["step-split"].dependent_tasks) == ["step-load"]
    assert list(tasks["step-evaluate"].dependent_tasks) == ["step-split", "step-train"]


def test_tasks_run_as_processes_in_dependency_order(workspace: Any, tmp_path: Path) -> None:
    root = workspace.root
    with open(root / "mloop.toml", "a", encoding="utf-8") as fh:
        fh.write('\n[pipelines]\nexample = "tests.support.example_pipeline:example"\n')
    out = tmp_path / "example.yaml"
    compile_kfp(workspace, ex.example, out, name="example")
    job_id = str(uuid.uuid4())
    runner = Runner(yaml.safe_load(out.read_text()), job_id, tmp_path, task_env(root))
    runner.run({"auc_threshold": 0.99})  # the Else branch: alert
    assert runner.executed == ["step-load", "step-split", "step-train", "step-evaluate",
                               "step-condition-1", "step-alert"]
    assert runner.outputs["step-condition-1"] == {"result": "false"}
    record = get_run(workspace, job_id)
    assert record.target == "kfp" and record.status == "Succeeded", record.error
    assert {s.name: s.status for s in record.steps} == {
        "load": "Succeeded", "split": "Succeeded", "train": "Succeeded", "evaluate": "Succeeded",
        "condition-1": "Succeeded", "register": "Skipped", "alert": "Succeeded"}
    assert record.step("evaluate").inputs["model"] == record.step("train").outputs["output"]["digest"]
    assert record.mlflow_run_id  # the training task opened the MLflow parent run
