"""Loading a KFP pipeline (a compiled file, `path/module.py:function`, or a `@dsl.pipeline`
object): checked up front for what cannot run here, then translated to mloop's executor graph."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mloop.pipelines.kfp_frontend.check import check, pod_fields_as_env, python_source
from mloop.pipelines.kfp_frontend.errors import KfpUnsupported
from mloop.pipelines.kfp_frontend.spec import KfpSpec, from_object, is_kfp_object, is_spec_file, load_file
from mloop.pipelines.kfp_frontend.translate import to_graph
from mloop.pipelines.kfp_frontend.warm import pool, preloads

if TYPE_CHECKING:
    from mloop.pipelines import graph as g
    from mloop.store import Workspace


@dataclass
class KfpPipeline:
    """A KFP pipeline ready to run: its executor graph and what is ignored (warnings)."""

    graph: g.Graph
    spec: KfpSpec
    warnings: list[str] = field(default_factory=list)


def is_kfp_ref(ref: str) -> bool:
    """A compiled pipeline file, or `path/to/module.py:function`."""
    return is_spec_file(ref) or ".py:" in ref


def _import_file(path: Path, attr: str) -> Any:
    if not path.is_file():
        raise KfpUnsupported(f"'{path}' does not exist")
    name = f"mloop_kfp_user_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise KfpUnsupported(f"cannot import '{path}'")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, str(path.parent.resolve()))
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise KfpUnsupported(f"importing '{path}' failed: {type(exc).__name__}: {exc}") from exc
    finally:
        sys.path.remove(str(path.parent.resolve()))
    target: Any = module
    for part in attr.split("."):
        if not hasattr(target, part):
            raise KfpUnsupported(f"'{path}' has no '{attr}'")
        target = getattr(target, part)
    return target


def load(ws: Workspace, ref: str, *, containers: str = "none", install_packages: bool = False) -> KfpPipeline:
    """Load a KFP pipeline by file path or `module.py:function` (relative to the workspace).

    Raises:
        KfpUnsupported: the file or object is not a KFP pipeline, or uses something that
            cannot run here (the message names each feature).
    """
    if is_spec_file(ref):
        path = Path(ref) if Path(ref).is_absolute() else Path(ws.root) / ref
        if not path.exists() and Path(ref).exists():
            path = Path(ref)
        spec = load_file(path)
    else:
        file, _, attr = ref.rpartition(":")
        path = Path(file) if Path(file).is_absolute() or Path(file).exists() else Path(ws.root) / file
        target = _import_file(path, attr)
        if not is_kfp_object(target):
            raise KfpUnsupported(f"'{ref}' is a {type(target).__name__}, not a @dsl.pipeline")
        spec = from_object(target, ref)
    return _finish(spec, containers, install_packages)


def load_object(obj: Any, ref: str, *, containers: str = "none", install_packages: bool = False) -> KfpPipeline:
    """Load a `@dsl.pipeline` object (compiled in-process)."""
    return _finish(from_object(obj, ref), containers, install_packages)


def _finish(spec: KfpSpec, containers: str, install_packages: bool) -> KfpPipeline:
    if containers not in ("none", "host"):
        raise KfpUnsupported(f"--containers {containers!r} is not known", hint="known: none, host")
    warnings = check(spec, containers=containers, install_packages=install_packages)
    pod_fields_as_env(spec)
    sources = [python_source(e.get("container", {})) for e in spec.executors.values()]
    for preload in {preloads(found[0]) for found in sources if found is not None}:
        pool(preload).warm_up()  # the servers import kfp (and libraries) while the run is prepared
    return KfpPipeline(graph=to_graph(spec, install_packages=install_packages), spec=spec, warnings=warnings)
