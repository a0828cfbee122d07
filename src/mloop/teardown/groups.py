"""`mloop features delete --purge`: the group's records, files and rows, unless something uses it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mloop import registry, serving
from mloop.errors import Conflict
from mloop.features import delete_group, get_group
from mloop.pipelines.delete import pipelines_mentioning
from mloop.teardown.content import drop_unreferenced

if TYPE_CHECKING:
    from mloop.store import Workspace


class GroupInUse(Conflict):
    """An endpoint, an app setting or a pipeline refers to the feature group."""

    code = "feature_group_in_use"


def group_references(ws: Workspace, name: str) -> list[str]:
    """What refers to feature group `name`: app settings, pipelines, endpoints serving models trained on it."""
    app = ws.settings.app
    found = [f"app setting app.{key} (the inference app logs there)"
             for key in ("interactions_group", "feedback_group") if getattr(app, key) == name]
    found += [f"pipeline {p}" for p in pipelines_mentioning(ws, name)]
    found += [f"endpoint {e}" for e in _endpoints_trained_on(ws, name)]
    return found


def _endpoints_trained_on(ws: Workspace, name: str) -> list[str]:
    out = []
    for endpoint in serving.list_endpoints(ws):
        for v in endpoint.variants:
            try:
                meta = registry.get_version(ws, v.model_name, v.model_version).metadata
            except registry.ModelVersionNotFound:
                continue
            if name in {str(x) for x in meta.values() if isinstance(x, str)}:
                out.append(endpoint.name)
                break
    return out


def purge_group(ws: Workspace, name: str, *, force: bool = False) -> dict[str, Any]:
    """Delete a feature group with its offline files, quarantine files, online rows and spool.

    Raises:
        FeatureGroupNotFound: no such group. GroupInUse: something refers to it (unless `force`).
    """
    get_group(ws, name)
    refs = group_references(ws, name)
    if refs and not force:
        raise GroupInUse(f"feature group '{name}' is in use by " + "; ".join(refs),
                         hint=f"Change those first, or delete anyway: `mloop features delete {name} --purge --force`.")
    digests = delete_group(ws, name, purge=True)
    return {"deleted": name, "offline_files": len(digests), "artifacts_removed": drop_unreferenced(ws, digests),
            "was_used_by": refs}
