"""What a KFP pipeline needs from this machine, checked before anything runs.

Refusals (one line each, naming the feature): Google-specific artifact types and Google Cloud
components, container components unless `--containers host`, importers of remote URIs, packages
a component installs that this environment lacks, secrets or config maps used as environment
variables. Kubernetes-only settings that can be ignored safely become warnings.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from mloop.pipelines.kfp_frontend.errors import KfpUnsupported
from mloop.pipelines.kfp_frontend.spec import KfpSpec

PYTHON, CONTAINER, IMPORTER, GOOGLE = "python", "container", "importer", "google"
_REMOTE = ("gs://", "s3://", "http://", "https://", "minio://", "abfs://", "oci://")
_REFUSED_K8S = {"secretAsEnv": "a Kubernetes secret used as an environment variable",
                "secretAsVolume": "a Kubernetes secret mounted as a volume",
                "configMapAsEnv": "a Kubernetes config map used as an environment variable",
                "configMapAsVolume": "a Kubernetes config map mounted as a volume"}
_EMULATED_K8S = ("fieldPathAsEnv", "podMetadata")  # see `pod_fields_as_env`


def executor_kind(executor: dict[str, Any]) -> str:
    """python (lightweight component), container, importer or google (Google Cloud only)."""
    if "importer" in executor:
        return IMPORTER
    container = executor.get("container")
    if container is None:
        return GOOGLE  # customJob, resolver: Vertex AI only
    text = " ".join([container.get("image", ""), *container.get("command", []),
                     *container.get("args", [])])
    if "google_cloud_pipeline_components" in text:
        return GOOGLE
    if python_source(container) is not None:
        return PYTHON
    return CONTAINER


def python_source(container: dict[str, Any]) -> tuple[str, str] | None:
    """(source, function) of a lightweight Python component, None for anything else."""
    command, args = list(container.get("command", [])), list(container.get("args", []))
    if not any("kfp.dsl.executor_main" in part for part in command):
        return None
    program = next((i for i, part in enumerate(command) if "ephemeral_component.py" in part), None)
    if program is None or program + 1 >= len(command) or "--function_to_execute" not in args:
        return None
    return command[program + 1], args[args.index("--function_to_execute") + 1]


def packages_to_install(container: dict[str, Any]) -> list[str]:
    """The requirements a lightweight component's command pip-installs (kfp itself excluded)."""
    found: list[str] = []
    for part in container.get("command", []):
        for segment in re.findall(r"pip install (.*?)(?:&&|$)", part, re.S):
            for word in shlex.split(segment.replace("\\\n", " ")):
                if word.startswith("-") or "://" in word or word in found:
                    continue
                name = re.split(r"[<>=!~ ;\[]", word, maxsplit=1)[0].lower()
                if name and name not in ("kfp", "typing-extensions"):
                    found.append(word)
    return found


def missing_packages(requirements: list[str]) -> list[str]:
    """The requirements whose distribution is not installed here."""
    from importlib import metadata

    from packaging.requirements import InvalidRequirement, Requirement

    missing = []
    for text in requirements:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            missing.append(text)
            continue
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            missing.append(text)
    return missing


def _component_of(spec: KfpSpec) -> dict[str, str]:
    """executor label -> component name."""
    return {c["executorLabel"]: name for name, c in spec.components.items() if "executorLabel" in c}


def _google_types(spec: KfpSpec) -> list[str]:
    found = []
    for name, comp in spec.components.items():
        for side in ("inputDefinitions", "outputDefinitions"):
            for art in comp.get(side, {}).get("artifacts", {}).values():
                title = art.get("artifactType", {}).get("schemaTitle", "")
                if title.startswith("google."):
                    found.append(f"{title} ({name})")
    return sorted(set(found))


def check(spec: KfpSpec, *, containers: str = "none", install_packages: bool = False) -> list[str]:
    """Refuse what cannot run here; return warnings for what is ignored.

    Raises:
        KfpUnsupported: one line naming every unsupported feature found.
    """
    problems: list[str] = []
    warnings: list[str] = []
    google = _google_types(spec)
    if google:
        problems.append("Google-specific artifact types: " + ", ".join(google))
    components = _component_of(spec)
    images: list[str] = []
    for label, executor in spec.executors.items():
        comp = components.get(label, label)
        kind = executor_kind(executor)
        if kind == GOOGLE:
            problems.append(f"Google Cloud component '{comp}' (custom training job / Vertex AI)")
        elif kind == IMPORTER:
            uri = executor["importer"].get("artifactUri", {}).get("constant", "")
            if str(uri).startswith(_REMOTE):
                problems.append(f"importer '{comp}' of the remote URI {uri}")
        elif kind == CONTAINER and containers != "host":
            images.append(f"{comp} ({executor['container'].get('image', '?')})")
        elif kind == PYTHON:
            lacking = missing_packages(packages_to_install(executor["container"]))
            if lacking and install_packages:
                warnings.append(f"component '{comp}' runs in a cached venv with packages_to_install "
                                f"{', '.join(lacking)} (--install-packages)")
            elif lacking:
                quoted = " ".join(shlex.quote(p) for p in lacking)
                problems.append(f"component '{comp}' needs packages_to_install {', '.join(lacking)}, "
                                f"not installed here (pip install {quoted}, or run with --install-packages)")
        if kind in (PYTHON, CONTAINER):
            warnings += _resource_warnings(comp, executor["container"])
    if images:
        problems.append("container components need `--containers host` to run their command on "
                        "this machine: " + ", ".join(images))
    for label, settings in spec.k8s_executors().items():
        comp = components.get(label, label)
        for key in settings:
            if key in _REFUSED_K8S:
                problems.append(f"{_REFUSED_K8S[key]} in '{comp}'")
            elif key not in _EMULATED_K8S:
                warnings.append(f"ignored Kubernetes-only setting {key} of '{comp}'")
    if problems:
        raise KfpUnsupported(f"pipeline '{spec.name}' cannot run locally: " + "; ".join(problems),
                             hint="Run it on Kubeflow Pipelines, or change what is named.")
    return warnings


def _resource_warnings(comp: str, container: dict[str, Any]) -> list[str]:
    resources = container.get("resources") or {}
    out = []
    accelerator = resources.get("accelerator")
    if accelerator:
        out.append(f"ignored GPU request of '{comp}' ({accelerator.get('type') or accelerator.get('resourceType')}"
                   f" x{accelerator.get('count') or accelerator.get('resourceCount')})")
    limits = sorted(k for k in resources if k != "accelerator")
    if limits:
        out.append(f"ignored resource settings of '{comp}': {', '.join(limits)}")
    return out


def pod_fields_as_env(spec: KfpSpec) -> None:
    """`use_field_path_as_env`: the pod's labels and annotations (from `podMetadata`) and its
    name become the environment variables they name, as Kubernetes would set them ("" when the
    pod has no such label or annotation)."""
    for label, settings in spec.k8s_executors().items():
        fields = settings.get("fieldPathAsEnv") or []
        container = spec.executors.get(label, {}).get("container")
        if not fields or container is None:
            continue
        meta = settings.get("podMetadata") or {}
        env = container.setdefault("env", [])
        for item in fields:
            path = str(item.get("fieldPath", ""))
            found = re.fullmatch(r"metadata\.(labels|annotations)\['([^']*)'\]", path)
            value = str((meta.get(found.group(1)) or {}).get(found.group(2), "")) if found else \
                label.removeprefix("exec-") if path == "metadata.name" else ""
            env.append({"name": item["name"], "value": value})
