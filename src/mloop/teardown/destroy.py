"""`mloop destroy`: every record and file of a workspace, in dependency order (seed 001's "nuke").

Order: endpoints (they serve versions) -> registered versions, in mloop and MLflow's registry
(they came from runs) -> pipeline runs -> feature groups with their online rows, spools and
quarantine files (runs read them) -> the remaining records (releases, experiments, alerts, events) -> the
artifacts those records referred to, now that nothing does. `mloop.toml` stays, so the same
folder is ready for the flow to run again; MLflow's experiment runs stay as tracking history
(MLflow only soft-deletes experiments, and a soft-deleted name could not be used again).
"""

from __future__ import annotations

import importlib
import shutil
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from mloop import registry, serving
from mloop.features import delete_group, list_groups
from mloop.pipelines.delete import delete_all_runs
from mloop.pipelines.queries import count_runs
from mloop.serving.endpoints.retire import delete_endpoint
from mloop.store import metadata
from mloop.teardown.content import referenced

if TYPE_CHECKING:
    from mloop.store import Workspace

# Every package's tables, so the store's metadata knows them all before the last sweep.
_TABLE_MODULES = ("alerts", "experiments", "features", "pipelines", "registry", "release", "serving", "store")


@dataclass
class DestroyPlan:
    """What a workspace holds (before) or what was removed (after)."""

    endpoints: list[str]
    models: dict[str, int]
    runs: int
    feature_groups: list[str]
    artifacts: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def empty(self) -> bool:
        return not (self.endpoints or self.models or self.runs or self.feature_groups or self.artifacts)


def plan(ws: Workspace) -> DestroyPlan:
    """What `destroy` would remove (for the confirmation prompt)."""
    with ws.db.begin() as conn:
        runs = count_runs(conn)
    return DestroyPlan(
        endpoints=[e.name for e in serving.list_endpoints(ws)],
        models={m.name: m.versions for m in registry.list_models(ws)},
        runs=runs, feature_groups=[g.name for g in list_groups(ws)], artifacts=len(referenced(ws)))


def destroy(ws: Workspace) -> DestroyPlan:
    """Remove every record and file of the workspace, in dependency order; returns what went."""
    before = plan(ws)
    digests = referenced(ws)
    for name in before.endpoints:
        delete_endpoint(ws, name)
    for name in before.models:
        registry.delete_versions(ws, name)
    digests |= set(delete_all_runs(ws))
    for name in before.feature_groups:
        digests |= set(delete_group(ws, name, purge=True))
    _sweep_records(ws)
    removed = 0
    for digest in sorted(digests):
        if ws.artifacts.exists(digest):
            ws.artifacts.delete(digest)
            removed += 1
    for leftover in ("quarantine", "tmp", "spool"):
        shutil.rmtree(ws.state_dir / leftover, ignore_errors=True)
    before.artifacts = removed
    return before


def _sweep_records(ws: Workspace) -> None:
    """Rows no package deleted above (releases, alerts, events, pipeline definitions)."""
    for package in _TABLE_MODULES:
        importlib.import_module(f"mloop.{package}.tables")
    with ws.db.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
