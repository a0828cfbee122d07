"""Loading a KFP pipeline: compiled IR YAML/JSON, or a `@dsl.pipeline` compiled in-process.

The result is the PipelineSpec as plain dicts (what the KFP compiler writes) plus the optional
Kubernetes platform spec (the second YAML document). Nothing here runs a component.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mloop.pipelines.kfp_frontend.errors import KfpUnsupported

SUFFIXES = (".yaml", ".yml", ".json")


@dataclass
class KfpSpec:
    """A compiled KFP pipeline: its spec, platform spec and where it came from."""

    pipeline: dict[str, Any]
    platform: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    @property
    def name(self) -> str:
        return str(self.pipeline.get("pipelineInfo", {}).get("name") or "kfp-pipeline")

    @property
    def components(self) -> dict[str, Any]:
        return dict(self.pipeline.get("components", {}))

    @property
    def executors(self) -> dict[str, Any]:
        return dict(self.pipeline.get("deploymentSpec", {}).get("executors", {}))

    @property
    def root(self) -> dict[str, Any]:
        return dict(self.pipeline.get("root", {}))

    def k8s_executors(self) -> dict[str, Any]:
        k8s = self.platform.get("platforms", {}).get("kubernetes", {})
        return dict(k8s.get("deploymentSpec", {}).get("executors", {}))


def is_spec_file(ref: str) -> bool:
    """A reference that names a compiled pipeline file rather than a Python object."""
    return ref.lower().endswith(SUFFIXES)


def load_file(path: Path) -> KfpSpec:
    """Parse a compiled pipeline file (YAML with an optional platform document, or JSON).

    Raises:
        InvalidInput: the file is missing or is not a KFP v2 pipeline spec.
    """
    import yaml

    if not path.is_file():
        raise KfpUnsupported(f"pipeline file '{path}' does not exist",
                             hint="Compile it with kfp.compiler.Compiler().compile(pipeline, 'x.yaml').")
    text = path.read_text(encoding="utf-8")
    try:
        docs = [json.loads(text)] if path.suffix.lower() == ".json" else \
            [d for d in yaml.safe_load_all(text) if d]
    except (ValueError, yaml.YAMLError) as exc:
        raise KfpUnsupported(f"'{path}' is not valid YAML/JSON: {str(exc).splitlines()[0]}") from exc
    if docs and "pipelineSpec" in docs[0]:  # a PipelineJob wrapper
        docs = [docs[0]["pipelineSpec"], *docs[1:]]
    spec = next((d for d in docs if isinstance(d, dict) and "root" in d), None)
    if spec is None:
        raise KfpUnsupported(f"'{path}' is not a KFP v2 pipeline spec (no 'root')",
                             hint="Pass the YAML the KFP v2 compiler writes.")
    platform = next((d for d in docs if isinstance(d, dict) and "platforms" in d), {})
    return KfpSpec(pipeline=spec, platform=platform, source=str(path))


def from_object(obj: Any, ref: str) -> KfpSpec:
    """Compile a `@dsl.pipeline` (a kfp GraphComponent) in-process to its spec."""
    import tempfile

    from kfp import compiler

    with tempfile.TemporaryDirectory(prefix="mloop-kfp-") as tmp:
        out = Path(tmp) / "pipeline.yaml"
        try:
            compiler.Compiler().compile(obj, str(out))
        except Exception as exc:
            raise KfpUnsupported(f"kfp could not compile '{ref}': {exc}") from exc
        spec = load_file(out)
    spec.source = ref
    return spec


def is_kfp_object(obj: Any) -> bool:
    """A `@dsl.pipeline` or `@dsl.component` object of the kfp SDK."""
    import sys

    if "kfp" not in sys.modules:
        return False
    from kfp.dsl.base_component import BaseComponent

    return isinstance(obj, BaseComponent)
