"""The KFP sample corpus (../shared/kfp-samples): what each sample must do under mloop.

Every compiled sample either runs to its expected end with the outputs its source computes,
or is refused up front with one line naming the unsupported feature. `run_corpus` runs them
all (concurrently, one workspace) and returns one `Result` per sample; `python -m
tests.integration.pipelines.kfp_corpus WORKSPACE` prints the table docs/kfp.md carries.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CORPUS = Path(os.environ.get("MLOOP_KFP_SAMPLES", Path(__file__).resolve().parents[4] / "shared" / "kfp-samples"))
if not CORPUS.is_dir():
    CORPUS = Path("/work/shared/kfp-samples")
SUCCEEDED, FAILED, REFUSED = "Succeeded", "Failed", "Refused"


@dataclass
class Expect:
    """The expected end of a sample: status, parameters given, outputs (step.output: value)."""

    status: str = SUCCEEDED
    reason: str = ""  # refused: a substring of the one-line message; else why it ends so
    params: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)


def _refused(reason: str) -> Expect:
    return Expect(REFUSED, reason)


_CONTAINER = "container components need `--containers host`"
EXPECT: dict[str, Expect] = {
    # container components (kfp.local refuses them too; `--containers host` runs them here)
    **{name: _refused(_CONTAINER) for name in (
        "arguments_parameters.yaml", "artifacts_simple.yaml", "container_io.yaml",
        "container_with_artifact_output.yaml", "container_with_concat_placeholder.yaml",
        "container_with_if_placeholder.yaml", "container_with_placeholder_in_fstring.yaml",
        "containerized_python_component.yaml", "essential/container_no_input.yaml",
        "essential/pipeline_with_after.yaml", "essential/pipeline_with_nested_conditions_yaml.yaml",
        "essential/pipeline_with_outputs.yaml",
        "essential/placeholder_with_if_placeholder_none_input_value.yaml", "hello_world.yaml",
        "long-running.yaml", "mounted_cabundle_configmap.yaml", "mounted_cabundle_secret.yaml",
        "pipeline_with_concat_placeholder.yaml", "pipeline_with_only_display_name.yaml",
        "pipeline_with_task_final_status_yaml.yaml", "pipeline_with_volume.yaml",
        "pipeline_with_volume_no_cache.yaml", "run_as_user_cache_disabled.yaml",
        "run_as_user_cache_enabled.yaml", "sequential_v1.yaml", "sequential_v2.yaml",
        "two_step_pipeline.yaml", "xgboost_sample_pipeline.yaml")},
    "upload_download_compiled.yaml": _refused("packages_to_install minio"),
    "component_with_metadata_fields.yaml": _refused("takes input artifacts"),
    "input_artifact.yaml": _refused("takes input artifacts"),
    "pipeline_with_metadata_fields.yaml": _refused("takes input artifacts"),
    "component_with_task_final_status_GH-12033.yaml": _refused("only an ExitHandler can provide"),
    "components_with_optional_artifacts.yaml": _refused("remote URI gs://"),
    "pipeline_with_importer.yaml": _refused("remote URI gs://"),
    "pipeline_with_dynamic_importer_metadata.yaml": _refused("remote URI gs://"),
    "pythonic_artifact_with_single_return.yaml": _refused("remote URI gs://"),
    "pipeline_with_google_artifact_type.yaml": _refused("Google-specific artifact types"),
    "pipeline_with_importer_and_gcpc_types.yaml": _refused("Google-specific artifact types"),
    "pipeline_with_various_io_types.yaml": _refused("Google-specific artifact types"),
    "pipeline_with_condition_dynamic_task_output_custom_training_job.yaml":
        _refused("Google Cloud component"),
    "pipeline_with_dynamic_task_output_custom_training_job.yaml": _refused("Google Cloud component"),
    "essential/component_with_pip_index_urls.yaml": _refused("packages_to_install yapf"),
    "essential/component_with_pip_install.yaml": _refused("packages_to_install yapf"),
    "essential/component_with_pip_install_in_venv.yaml": _refused("packages_to_install yapf"),
    "notebook_component_mixed.yaml": _refused("packages_to_install nbclient"),
    "pipeline_with_secret_as_volume.yaml": _refused("secret mounted as a volume"),
    "pvc_mount.yaml": _refused("needs a value for 'pvc_name'"),
    "preprocess.yaml": _refused("needs a value for 'input_dict_parameter'"),
    # inputs without defaults, given here
    "essential/concat_message.yaml": Expect(params={"message1": "ab", "message2": "cd"},
                                            outputs={"concat-message.Output": "abcd"}),
    "essential/dict_input.yaml": Expect(params={"struct": '{"a": 1}'}),
    "env-var.yaml": Expect(params={"env_var": "HOME"}, reason="reads the variable named by env_var"),
    "identity.yaml": Expect(params={"value": "x"}, outputs={"identity.Output": "x"}),
    "essential/lightweight_python_functions_pipeline.yaml": Expect(params={"message": "hi"}),
    "essential/lightweight_python_functions_with_outputs.yaml": Expect(params={
        "first_message": "a", "second_message": "b", "first_number": 1, "second_number": 2}),
    "pipeline_with_parallelfor_parallelism.yaml": Expect(params={"loop_parameter": '["a", "b"]'}),
    "pipeline_with_parallelfor_pipeline_param.yaml":
        Expect(params={"loop_parameter": '["a", "b"]', "prefix": "p"}),
    "local_execution/local_execution_pipeline_with_retry.yaml":
        Expect(params={"counter_path": "{tmp}/counter"},
               outputs={"flaky.Output": "attempt=2"}),
    "local_execution/local_execution_pipeline_with_ignore_upstream_failure.yaml":
        Expect(FAILED, "fail_always fails; write_marker still runs (ignore_upstream_failure)",
               params={"marker_path": "{tmp}/marker"}),
    "log_streaming_compiled.yaml": Expect(reason="prints for 60 s by design"),
    "take_nap_compiled.yaml": Expect(params={"naptime_secs": 1}, reason="naps 1 s (900 s by default)"),
    "take_nap_pipeline_root_compiled.yaml": Expect(params={"naptime_secs": 1},
                                                   reason="naps 1 s (900 s by default)"),
    # deterministic outputs
    "nested_with_parameters.yaml": Expect(outputs={"add.Output": 72}),
    "conditional_producer_and_consumers.yaml": Expect(outputs={"condition-4.pipelinechannel--add-Output": 10}),
    "nested_return.yaml": Expect(outputs={"nested-return.Output": [{"A_a": "1", "B_b": "2"},
                                                                   {"A_a": "10", "B_b": "20"}]}),
    "pipeline_producer_consumer.yaml": Expect(outputs={"add-pipeline.out1": 36}),
    "local_execution/pipeline_with_caching.yaml": Expect(outputs={"add-one.Output": 2}),
    "local_execution/pipeline_with_oneof.yaml": Expect(outputs={"tag-selected.Output": "selected:A"}),
    "local_execution/local_execution_pipeline_with_oneof.yaml":
        Expect(outputs={"tag-selected.Output": "selected:A"}),
    "local_execution/pipeline_with_collected_artifacts.yaml":
        Expect(outputs={"read-and-join.Output": "0,1,2"}),
    "local_execution/local_execution_pipeline_with_k8s_only_methods.yaml":
        Expect(outputs={"echo.Output": "hello"}),
    "essential/component_with_env_variable.yaml": Expect(outputs={"read-env-var.Output": "env_var_value"}),
    "essential/pipeline_with_reused_component.yaml": Expect(outputs={
        "add-numbers.Output": 5, "add-numbers-2.Output": 10, "add-numbers-3.Output": 17}),
    "essential/pipeline_with_params_containing_format.yaml": Expect(outputs={
        "print-op.Output": "Hello KFP", "print-op-2.Output": "Hello KFP, again."}),
    "pipeline_with_string_machine_fields_task_output.yaml": Expect(outputs={"sum-numbers.Output": 3}),
    "pipeline_with_string_machine_fields_pipeline_input.yaml": Expect(outputs={"sum-numbers.Output": 3}),
    "pipeline_with_task_using_ignore_upstream_failure.yaml":
        Expect(FAILED, "fail_op fails by design; print_op runs anyway with its default"),
    "create_pod_metadata_complex.yaml":
        Expect(FAILED, "validate_no_pod_metadata expects env vars only the KFP test cluster sets"),
    "pipeline_as_exit_task.yaml": Expect(FAILED, "fail_op fails by design; the exit pipeline runs"),
    "pipeline_with_task_final_status.yaml": Expect(FAILED, "fail_op fails by design; the exit task runs"),
}


def expectation(rel: str) -> Expect:
    if rel in EXPECT:
        return EXPECT[rel]
    return Expect(FAILED, "fails by design") if rel.startswith("failing/") else Expect()


@dataclass
class Result:
    sample: str
    status: str
    message: str
    seconds: float
    outputs: dict[str, Any]


def samples() -> list[str]:
    return sorted(str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*.yaml"))


def _outputs(ws: Any, record: Any) -> dict[str, Any]:
    from mloop.pipelines import load_artifact

    found: dict[str, Any] = {}
    for step in record.steps:
        for name, out in step.outputs.items():
            if out["format"] == "json":
                found[f"{step.name}.{name}"] = load_artifact(ws, record.id, step.name, name)
    return found


def run_one(ws: Any, rel: str, tmp: str) -> Result:
    from mloop.errors import MloopError
    from mloop.pipelines import run_pipeline
    from mloop.pipelines.kfp_frontend import load

    expect = expectation(rel)
    params = {k: v.replace("{tmp}", tmp) if isinstance(v, str) else v for k, v in expect.params.items()}
    started = time.perf_counter()
    try:
        graph = load(ws, str(CORPUS / rel)).graph
        record = run_pipeline(ws, graph, params, tracking=False)
    except MloopError as exc:
        return Result(rel, REFUSED, exc.message, time.perf_counter() - started, {})
    return Result(rel, record.status, record.error or "", time.perf_counter() - started,
                  _outputs(ws, record))


def run_corpus(ws: Any, names: list[str] | None = None, workers: int = 4) -> list[Result]:
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(workers) as pool:
        jobs = {rel: pool.submit(run_one, ws, rel, tempfile.mkdtemp(dir=tmp)) for rel in names or samples()}
        return [jobs[rel].result(timeout=600) for rel in jobs]


def mismatch(result: Result) -> str | None:
    """Why a result differs from its expectation (None when it matches)."""
    expect = expectation(result.sample)
    if result.status != expect.status:
        return f"{result.status} (expected {expect.status}): {result.message}"
    if "\n" in result.message or "Traceback" in result.message:
        return f"message is not one line: {result.message[:200]}"
    if expect.status == REFUSED and expect.reason not in result.message:
        return f"refusal does not name {expect.reason!r}: {result.message}"
    for key, value in expect.outputs.items():
        if result.outputs.get(key) != value:
            return f"output {key} is {result.outputs.get(key)!r}, expected {value!r}"
    return None


def table(results: list[Result]) -> str:
    lines = ["| sample | result | reason |", "|---|---|---|"]
    for r in results:
        reason = r.message if r.status == REFUSED else expectation(r.sample).reason
        lines.append(f"| `{r.sample}` | {r.status} | {reason.replace('|', '/')[:220]} |")
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    lines.append("")
    lines.append(f"{len(results)} samples: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    return "\n".join(lines)


if __name__ == "__main__":
    from mloop.store import open_workspace

    os.chdir(sys.argv[1])
    done = run_corpus(open_workspace(), sys.argv[2:] or None)
    print(table(done))
    for r in done:
        why = mismatch(r)
        if why:
            print(f"MISMATCH {r.sample}: {why}", file=sys.stderr)
