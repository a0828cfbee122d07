"""Execute a compiled KFP v2 pipeline spec the way the KFP driver/launcher would, without a cluster.

Each container task's command runs in its own process (a pod), in dependency order, with the
KFP placeholders substituted (`{{$.inputs.parameters[...]}}`, output parameter files, the
`Concat` placeholder, the job id). Condition groups run their sub-DAG when their trigger policy
holds, evaluated on the producing task's output parameter.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from tests.support.cli import clean_env

_INPUT = re.compile(r"\{\{\$\.inputs\.parameters\['([^']+)'\]\}\}")
_OUTPUT = re.compile(r"\{\{\$\.outputs\.parameters\['([^']+)'\]\.output_file\}\}")
_TRIGGER = re.compile(r"inputs\.parameter_values\['([^']+)'\] == '([^']*)'")


class Runner:
    def __init__(self, spec: dict[str, Any], job_id: str, workdir: Path, env: dict[str, str]) -> None:
        self.spec, self.job_id, self.workdir, self.env = spec, job_id, workdir, env
        self.outputs: dict[str, dict[str, str]] = {}  # task -> output name -> value
        self.executed: list[str] = []

    def run(self, params: dict[str, Any]) -> None:
        root = self.spec["root"]
        defs = root["inputDefinitions"]["parameters"]
        values = {k: int(v["defaultValue"]) if v["parameterType"] == "NUMBER_INTEGER" else
                  v.get("defaultValue") for k, v in defs.items()}
        values.update(params)
        self.run_dag(root["dag"], values)

    def value(self, binding: dict[str, Any], scope: dict[str, Any]) -> Any:
        if "componentInputParameter" in binding:
            return scope[binding["componentInputParameter"]]
        if "taskOutputParameter" in binding:
            ref = binding["taskOutputParameter"]
            return self.outputs[ref["producerTask"]][ref["outputParameterKey"]]
        constant = binding["runtimeValue"]["constant"]
        return constant.replace("{{$.pipeline_job_uuid}}", self.job_id) if isinstance(constant, str) else constant

    def run_dag(self, dag: dict[str, Any], scope: dict[str, Any]) -> None:
        pending = dict(dag["tasks"])
        done: set[str] = set()
        while pending:
            ready = [n for n, t in pending.items() if set(t.get("dependentTasks", [])) <= done]
            assert ready, f"no task ready among {sorted(pending)}"
            for name in sorted(ready):
                task = pending.pop(name)
                inputs = {k: self.value(v, scope) for k, v in
                          task.get("inputs", {}).get("parameters", {}).items()}
                component = self.spec["components"][task["componentRef"]["name"]]
                if "dag" in component:
                    if self.triggered(task, inputs):
                        self.run_dag(component["dag"], {**scope, **inputs})
                else:
                    self.run_container(name, component, inputs)
                done.add(name)

    def triggered(self, task: dict[str, Any], inputs: dict[str, Any]) -> bool:
        condition = task.get("triggerPolicy", {}).get("condition")
        if not condition:
            return True
        key, expected = _TRIGGER.fullmatch(condition.replace("\n", " ").strip()).groups()
        return str(inputs[key]) == expected

    def run_container(self, name: str, component: dict[str, Any], inputs: dict[str, Any]) -> None:
        executor = self.spec["deploymentSpec"]["executors"][component["executorLabel"]]
        container = executor["container"]
        out_files = {}

        def subst(text: str) -> str:
            text = _INPUT.sub(lambda m: _text(inputs[m.group(1)]), text)

            def output(m: re.Match[str]) -> str:
                path = self.workdir / f"{name}-{m.group(1)}.out"
                out_files[m.group(1)] = path
                return str(path)

            return _OUTPUT.sub(output, text)

        args = []
        for arg in container.get("args", []):
            if arg.startswith('{"Concat"'):
                arg = "".join(subst(part) for part in json.loads(arg)["Concat"])
            args.append(subst(arg))
        cmd = [*container["command"], *args]
        result = subprocess.run(cmd, env=self.env, cwd=self.workdir, capture_output=True, text=True,
                                timeout=240, check=False)
        assert result.returncode == 0, f"task {name} failed: {cmd}\n{result.stdout}\n{result.stderr}"
        self.outputs[name] = {k: p.read_text() for k, p in out_files.items()}
        self.executed.append(name)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def task_env(workspace_root: Path) -> dict[str, str]:
    env = clean_env()
    env["MLOOP_WORKSPACE"] = str(workspace_root)
    env["PATH"] = f"{Path(__file__).resolve().parents[3] / '.venv' / 'bin'}:{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[3])
    return env
