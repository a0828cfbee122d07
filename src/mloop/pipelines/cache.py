"""Step cache: the key (code, parameters, input digests, feature-group versions) and the lookup.

The code part is the step's source plus the source of the project-local functions and classes
it calls (transitively), or an explicit `version=`. "Project-local" means not installed in the
interpreter's prefix (site-packages, stdlib) and not mloop's own engine, so editing a helper in
your project invalidates the steps that use it while upgrading pandas does not. A hit counts
only when every output artifact still exists and re-hashes to its digest.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import sys
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from mloop.features import data_version
from mloop.pipelines import graph as g
from mloop.pipelines.materializers import ArtifactInfo
from mloop.pipelines.tables import artifacts, step_runs

if TYPE_CHECKING:
    from mloop.store import Workspace

_PREFIXES = tuple({sys.prefix, sys.base_prefix, sys.exec_prefix})
_CODE_CACHE: dict[int, tuple[Callable[..., Any], str]] = {}
_MAX_CALLEES = 200


def _is_local(obj: Any) -> bool:
    module = getattr(obj, "__module__", None) or ""
    if module.startswith("mloop.") and not module.startswith(("mloop.recipes", "mloop.model_format")):
        return False
    mod = sys.modules.get(module)
    path = getattr(mod, "__file__", None) if mod else None
    if not path:
        return module == "__main__"
    return not path.startswith(_PREFIXES)


def _source(obj: Any) -> str:
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        code = getattr(obj, "__code__", None)
        return repr((code.co_code, code.co_consts)) if code else repr(obj)


def _names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


def _callees(func: Callable[..., Any]) -> list[Any]:
    code = getattr(func, "__code__", None)
    if code is None:
        return []
    scope = getattr(func, "__globals__", {})
    names = _names(code)
    found: list[Any] = []
    for name in sorted(names):
        value = scope.get(name)
        value = getattr(value, "func", value)  # a StepDef called from another step
        if isinstance(value, types.ModuleType) and _is_local(value):
            found.extend(getattr(value, attr) for attr in sorted(names) if
                         isinstance(getattr(value, attr, None), types.FunctionType | type))
        elif isinstance(value, types.FunctionType | type) and _is_local(value):
            found.append(value)
    return found


def code_digest(func: Callable[..., Any], version: str | None = None) -> str:
    """sha256 over the step's code: its source and its project-local callees, or `version`."""
    if version is not None:
        return hashlib.sha256(f"version:{version}".encode()).hexdigest()
    cached = _CODE_CACHE.get(id(func))
    if cached is not None and cached[0] is func:
        return cached[1]
    digest = hashlib.sha256()
    seen: set[int] = set()
    queue: list[Any] = [func]
    while queue and len(seen) < _MAX_CALLEES:
        current = queue.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        digest.update(f"{getattr(current, '__module__', '')}.{getattr(current, '__qualname__', '')}"
                      .encode())
        digest.update(_source(current).encode())
        if isinstance(current, type):
            queue.extend(v for v in vars(current).values() if isinstance(v, types.FunctionType))
        else:
            queue.extend(_callees(current))
    result = digest.hexdigest()
    _CODE_CACHE[id(func)] = (func, result)
    return result


def feature_group_versions(ws: Workspace, node: g.Node, values: dict[str, Any]) -> dict[str, int]:
    """The data version of every feature group the step reads."""
    groups = list(node.options.get("feature_groups", []))
    groups += [str(values[arg]) for arg in node.options.get("feature_group_args", [])
               if values.get(arg) is not None]
    if not groups:
        return {}
    return {group: int(data_version(ws, group)) for group in sorted(set(groups))}


def cache_key(
    node: g.Node, code: str, values: dict[str, Any], inputs: dict[str, tuple[str, list[Any]]],
    groups: dict[str, int],
) -> str:
    """sha256 of everything that determines the step's outputs."""
    body = {
        "func": node.func, "code": code, "values": values,
        "inputs": {k: [d, p] for k, (d, p) in sorted(inputs.items())},
        "feature_groups": groups, "outputs": sorted(node.outputs),
        "op": node.options.get("op"),
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def find_cached(ws: Workspace, key: str) -> tuple[dict[str, Any], dict[str, ArtifactInfo]] | None:
    """The newest succeeded step run with this key whose artifacts are intact, and its outputs."""
    with ws.db.begin() as conn:
        candidates = [dict(r._mapping) for r in conn.execute(
            select(step_runs).where(step_runs.c.cache_key == key,
                                    step_runs.c.status == g.SUCCEEDED)
            .order_by(step_runs.c.id.desc()).limit(3))]
        outputs = {c["id"]: _outputs(conn, artifacts, c["id"]) for c in candidates}
    for candidate in candidates:
        found = outputs[candidate["id"]]
        if set(found) == set(candidate["outputs"]) and intact(ws, found):
            return candidate, found
    return None


def _outputs(conn: Any, artifacts: Any, step_run_id: int) -> dict[str, ArtifactInfo]:
    rows = conn.execute(select(artifacts).where(artifacts.c.producer_step_run_id == step_run_id))
    return {r.output_name: ArtifactInfo(r.digest, r.size, r.type, r.format, r.uri, r.meta or {})
            for r in rows}


def intact(ws: Workspace, outputs: dict[str, ArtifactInfo]) -> bool:
    """Every artifact exists and re-hashes to its digest."""
    for info in outputs.values():
        try:
            ws.artifacts.verify(info.digest)
        except Exception:  # noqa: BLE001 — missing, unreadable or corrupt: all mean "not reusable"
            return False
    return True
