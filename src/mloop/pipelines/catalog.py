"""Finding pipelines by name (project `[pipelines]` settings, then built-ins) and their parameters."""

from __future__ import annotations

import functools
import importlib
import json
import sys
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from mloop.errors import InvalidInput, did_you_mean
from mloop.pipelines import graph as g
from mloop.pipelines.dsl import Pipeline
from mloop.pipelines.errors import PipelineDefinitionError, PipelineNotFound
from mloop.pipelines.kfp_frontend import loader as kfp_loader
from mloop.pipelines.kfp_frontend.spec import is_kfp_object

if TYPE_CHECKING:
    from mloop.store import Workspace


ENTRY_POINTS = "mloop.pipelines"


def builtin_pipelines() -> dict[str, str]:
    """The pipelines installed packages declare (name -> "module:function"): mloop's reference
    pipelines (recipes, a layer above this catalog) and any plugin's, from the `mloop.pipelines`
    entry points in their metadata. Nothing is imported until a pipeline runs."""
    return dict(_declared())


@functools.cache
def _declared() -> tuple[tuple[str, str], ...]:
    return tuple(sorted((ep.name, ep.value) for ep in entry_points(group=ENTRY_POINTS)))


def list_pipelines(ws: Workspace) -> dict[str, str]:
    """Every pipeline name this workspace can run, project ones overriding built-ins."""
    return {**builtin_pipelines(), **ws.settings.pipelines}


def import_ref(ref: str, what: str) -> Any:
    """Import "module:attr.attr" (the workspace root is importable, like a project)."""
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise PipelineDefinitionError(f"{what}: '{ref}' is not 'module:function'")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
    except ImportError as exc:
        raise PipelineDefinitionError(
            f"{what}: cannot import '{module_name}': {exc}",
            hint="Check the module path in mloop.toml [pipelines] and that it is importable.",
        ) from exc
    except AttributeError as exc:
        raise PipelineDefinitionError(f"{what}: '{module_name}' has no '{attr}'") from exc
    return target


def make_importable(ws: Workspace) -> None:
    """Put the workspace root on sys.path: project steps ("my_project:train") import from there."""
    root = str(ws.root)
    if root not in sys.path:
        sys.path.insert(0, root)


def load_pipeline(ws: Workspace, name_or_pipeline: Any, *, containers: str = "none",
                  install_packages: bool = False) -> Pipeline:
    """The `@pipeline` object for a name, a "module:function" reference, or the object itself.

    KFP pipelines (a compiled YAML/JSON file, `path/module.py:function` or `pkg.module:function`
    naming a `@dsl.pipeline`) load through the KFP front end: the result has the same `.graph`
    (`containers="host"` lets their container components run their command on this machine).

    Raises:
        PipelineNotFound: unknown name (the hint lists the known ones).
        PipelineDefinitionError: the reference cannot be imported or is not a pipeline.
    """
    if isinstance(name_or_pipeline, Pipeline):
        return name_or_pipeline
    name = str(name_or_pipeline)
    known = list_pipelines(ws)
    ref = known.get(name) or (name if ":" in name or kfp_loader.is_kfp_ref(name) else None)
    if ref is None:
        raise PipelineNotFound(
            f"no pipeline named '{name}'",
            hint=did_you_mean(name, known) + ". Declare yours in mloop.toml [pipelines].",
        )
    make_importable(ws)
    if kfp_loader.is_kfp_ref(ref):  # a compiled KFP file or path/module.py:function
        return kfp_loader.load(ws, ref, containers=containers,  # type: ignore[return-value]
                               install_packages=install_packages)
    target = import_ref(ref, f"pipeline '{name}'")
    if not isinstance(target, Pipeline) and is_kfp_object(target):
        return kfp_loader.load_object(target, ref, containers=containers,  # type: ignore[return-value]
                                      install_packages=install_packages)
    if not isinstance(target, Pipeline):
        raise PipelineDefinitionError(
            f"pipeline '{name}': {ref} is a {type(target).__name__}, not a @pipeline function"
        )
    return target


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _coerce(param: g.Param, value: Any) -> Any:
    where = f"parameter '{param.name}' ({param.type})"
    try:
        if param.type == "json":
            return json.loads(value) if isinstance(value, str) else value
        if param.type == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE | _FALSE:
                return text in _TRUE
            raise ValueError(value)
        if param.type == "int":
            number = float(value) if isinstance(value, str) and "." in value else value
            if isinstance(number, float) and not number.is_integer():
                raise ValueError(value)
            return int(number)
        if param.type == "float":
            return float(value)
        return str(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{where} cannot be {value!r}") from exc


def resolve_params(graph: g.Graph, given: dict[str, Any] | None) -> dict[str, Any]:
    """Defaults overridden by `given`, converted to the declared types.

    Raises:
        InvalidInput: an unknown parameter (with the closest name) or a value of the wrong type.
    """
    values = {name: p.default for name, p in graph.params.items()}
    for key, value in (given or {}).items():
        if key not in graph.params:
            raise InvalidInput(
                f"pipeline '{graph.name}' has no parameter '{key}'",
                hint=did_you_mean(key, graph.params),
            )
        values[key] = _coerce(graph.params[key], value)
    missing = [n for n, p in graph.params.items() if p.required and values[n] is None]
    if missing:
        raise InvalidInput(
            f"pipeline '{graph.name}' needs a value for {', '.join(repr(m) for m in missing)}",
            hint=" ".join(f"-p {m}=..." for m in missing),
        )
    return values


def parse_param_args(items: list[str]) -> dict[str, str]:
    """`["k=v", ...]` from the command line.

    Raises:
        InvalidInput: an item without '='.
    """
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"--param '{item}' is not key=value", hint="e.g. --param max_depth=4")
        out[key.strip()] = value
    return out
