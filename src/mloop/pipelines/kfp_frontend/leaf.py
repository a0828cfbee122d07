"""One KFP task that runs something: a lightweight Python component, a container command on
the host, or an importer. The executor input, placeholders and outputs are built with the kfp
package's own local-execution helpers, so a component sees exactly what KFP would pass it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mloop.pipelines.kfp_frontend.check import (
    CONTAINER,
    IMPORTER,
    PYTHON,
    executor_kind,
    missing_packages,
    packages_to_install,
    python_source,
)
from mloop.pipelines.kfp_frontend.errors import KfpTaskFailed, KfpUnsupported
from mloop.pipelines.kfp_frontend.venvs import venv_python
from mloop.pipelines.kfp_frontend.warm import pool, preloads

if TYPE_CHECKING:
    from mloop.pipelines.kfp_frontend.engine import Runtime


def _component_pb(comp: dict[str, Any]) -> Any:
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2

    return json_format.ParseDict(comp, pipeline_spec_pb2.ComponentSpec(), ignore_unknown_fields=True)


def _artifact(name: str, title: str, uri: str, metadata: dict[str, Any]) -> Any:
    from kfp.dsl.executor import create_artifact_instance

    return create_artifact_instance({"name": name, "uri": uri, "metadata": metadata,
                                     "type": {"schemaTitle": title}})


def whole_numbers(value: Any) -> Any:
    """Integral floats inside lists and dicts become ints, as KFP's Go backend writes them
    (protobuf keeps every number as a double; `[1, 2]` must not reach a component as `[1.0, 2.0]`)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [whole_numbers(v) for v in value]
    if isinstance(value, dict):
        return {k: whole_numbers(v) for k, v in value.items()}
    return value


def _duration(text: str | None) -> float:
    return float(str(text or "0s").rstrip("s") or 0)


def run_leaf(rt: Runtime, path: str, comp: dict[str, Any], executor: dict[str, Any],
             arguments: dict[str, Any], retry: dict[str, Any] | None,
             env: dict[str, str] | None = None) -> dict[str, Any]:
    """Execute one task with its retry policy; returns {output name: value or dsl artifact}.
    `env` adds to the task's environment (its MLflow run).

    Raises:
        KfpTaskFailed: the last attempt failed (the message says how).
    """
    attempts = int((retry or {}).get("maxRetryCount", 0)) + 1
    delay = _duration((retry or {}).get("backoffDuration"))
    factor = float((retry or {}).get("backoffFactor") or 2)
    ceiling = _duration((retry or {}).get("backoffMaxDuration")) or 3600.0
    for attempt in range(1, attempts + 1):
        try:
            with rt.limit:
                return _attempt(rt, f"{path}" if attempt == 1 else f"{path}@{attempt}",
                                comp, executor, arguments, env or {})
        except KfpTaskFailed as exc:
            if attempt == attempts or rt.stop.is_set():
                raise KfpTaskFailed(f"{exc} (after {attempt} attempts)" if attempt > 1 else str(exc)) from exc
            wait = min(delay * factor ** (attempt - 1), ceiling)
            rt.log(path, f"attempt {attempt} failed: {exc}; retrying in {wait:g} s\n")
            if rt.stop.wait(wait):
                raise
    raise KfpTaskFailed(f"task '{path}' did not run")  # unreachable: attempts >= 1


def _attempt(rt: Runtime, path: str, comp: dict[str, Any], executor: dict[str, Any],
             arguments: dict[str, Any], task_env: dict[str, str]) -> dict[str, Any]:
    kind = executor_kind(executor)
    task_root = rt.root / path.replace("/", "__")
    if task_root.exists():
        shutil.rmtree(task_root)
    task_root.mkdir(parents=True)
    if kind == IMPORTER:
        return _import(rt, path, comp, executor["importer"], arguments, task_root)
    from kfp.local import executor_input_utils, executor_output_utils, placeholder_utils

    spec = _component_pb(comp)
    arguments = {k: v for k, v in arguments.items() if v is not None}  # None: not provided
    executor_input = executor_input_utils.construct_executor_input(
        component_spec=spec, arguments=arguments, task_root=str(task_root), block_input_artifact=False)
    as_dict = executor_input_utils.executor_input_to_dict(executor_input=executor_input, component_spec=spec)
    for key, value in as_dict.get("inputs", {}).get("parameterValues", {}).items():
        if isinstance(value, list | dict):
            as_dict["inputs"]["parameterValues"][key] = whole_numbers(value)
    container = executor["container"]
    command = placeholder_utils.replace_placeholders(
        full_command=[*container.get("command", []), *container.get("args", [])],
        executor_input_dict=as_dict, pipeline_resource_name=rt.run_name,
        task_resource_name=path.rsplit("/", 1)[-1], pipeline_root=str(rt.root),
        unique_pipeline_id=rt.run_name)
    env = {**rt.env, **task_env, **{e["name"]: str(e.get("value", "")) for e in container.get("env", [])}}
    log = task_root / "task.log"
    started = time.perf_counter()
    if kind == PYTHON:
        rc = _python(rt, container, command, env, task_root, log)
    elif kind == CONTAINER:
        rc = _host(rt, command, env, log)
    else:
        raise KfpUnsupported(f"task '{path}' cannot run locally")
    rt.log(path, _tail(log), time.perf_counter() - started, rc)
    if rc != 0:
        raise KfpTaskFailed(f"task '{path}' failed (exit code {rc})")
    outputs = executor_output_utils.get_outputs_for_task(executor_input=executor_input, component_spec=spec)
    outputs = {k: whole_numbers(v) if isinstance(v, list | dict) else v for k, v in outputs.items()}
    for name, art in comp.get("outputDefinitions", {}).get("artifacts", {}).items():
        if name not in outputs:  # containers write files, not an executor output
            title = art.get("artifactType", {}).get("schemaTitle", "system.Artifact")
            outputs[name] = _artifact(name, title, str(task_root / name), {})
    return outputs


def _tail(log: Path, limit: int = 256_000) -> str:
    """The end of a task's log (the whole file stays in the task's directory)."""
    if not log.exists():
        return ""
    with open(log, "rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        fh.seek(max(0, size - limit))
        text = fh.read().decode("utf-8", errors="replace")
    return text if size <= limit else f"[... {size - limit} bytes before; full log: {log}]\n{text}"


def _python(rt: Runtime, container: dict[str, Any], command: list[str], env: dict[str, str],
            task_root: Path, log: Path) -> int:
    found = python_source(container)
    assert found is not None
    source, function = found
    module = task_root / "ephemeral_component.py"
    module.write_text(source, encoding="utf-8")
    executor_input = command[command.index("--executor_input") + 1]
    argv = ["executor_main", "--component_module_path", str(module),
            "--executor_input", executor_input, "--function_to_execute", function]
    lacking = missing_packages(packages_to_install(container)) if rt.install_packages else []
    if lacking and rt.state_dir is not None:  # its own venv: a fresh interpreter, not a fork
        python = venv_python(rt.state_dir, packages_to_install(container), function)
        return _host(rt, [str(python), "-m", "kfp.dsl.executor_main", *argv[1:]],
                     {**env, "_KFP_RUNTIME": "true"}, log)
    return pool(preloads(source)).run(argv, rt.cwd, {**env, "_KFP_RUNTIME": "true"}, str(log), rt.stop)


def _host(rt: Runtime, command: list[str], env: dict[str, str], log: Path) -> int:
    with open(log, "wb") as out:
        try:
            proc = subprocess.Popen(command, cwd=rt.cwd, env={**os.environ, **env}, stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        except OSError as exc:
            out.write(f"cannot start {command[0]!r}: {exc}\n".encode())
            return 127
        while True:
            try:
                return proc.wait(0.2)
            except subprocess.TimeoutExpired:
                if rt.stop.is_set():
                    proc.kill()


def _import(rt: Runtime, path: str, comp: dict[str, Any], importer: dict[str, Any],
            arguments: dict[str, Any], task_root: Path) -> dict[str, Any]:
    source = importer.get("artifactUri", {})
    uri = source["constant"] if "constant" in source else arguments.get(source.get("runtimeParameter", ""))
    uri = str(uri or "")
    local = uri[len("file://"):] if uri.startswith("file://") else uri
    if "://" in local or not local:
        raise KfpTaskFailed(f"importer '{path}': {uri!r} is not a local path (remote URIs need Kubeflow)")
    target = Path(rt.cwd, local)
    if not target.exists():
        raise KfpTaskFailed(f"importer '{path}': {local} does not exist")
    metadata = {str(_fill(k, arguments)): _fill(v, arguments) for k, v in (importer.get("metadata") or {}).items()}
    title = importer.get("typeSchema", {}).get("schemaTitle", "system.Artifact")
    rt.log(path, f"imported {target} as {title}\n")
    return {"artifact": _artifact("artifact", title, str(target.resolve()), metadata)}


def _fill(value: Any, arguments: dict[str, Any]) -> Any:
    """Importer metadata may hold `{{$.inputs.parameters['x']}}` placeholders."""
    if not isinstance(value, str):
        return value
    whole = re.fullmatch(r"\{\{\$\.inputs\.parameters\['([^']+)'\]\}\}", value)
    if whole:
        return arguments.get(whole.group(1))
    return re.sub(r"\{\{\$\.inputs\.parameters\['([^']+)'\]\}\}",
                  lambda m: str(arguments.get(m.group(1), "")), value)
