"""Step-run rows for the tasks inside a loop, condition or nested-pipeline step.

A group of KFP tasks whose shape is known only at run time (a `dsl.ParallelFor` over a task
output) runs as one mloop step; its inner tasks still get a row each in the run store, named
by their path under the step (`for-loop-2[1]/square`, `condition-branches-1/condition-2/say`),
with their own status, log, outputs (stored content-addressed, with digests), cache key and
MLflow run. The prefix before the first `/` or `[` is the step that ran them, so
`runs show`, `runs logs --step`, lineage and the dashboard list them under it.

`mloop runs retry` re-runs the failed group step; inside it a leaf task whose path and cache
key (component spec digest plus its inputs' content digests) match a task that succeeded in
the retried run reuses that task's stored outputs (verified), so only what did not succeed
executes again.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from mloop.pipelines import graph as g
from mloop.pipelines import runs
from mloop.pipelines.cache import _outputs, intact
from mloop.pipelines.kfp_frontend.artifacts import StoredArtifact
from mloop.pipelines.kfp_frontend.tracking import artifact_metrics
from mloop.pipelines.materializers import ArtifactInfo, load_output, save_output
from mloop.pipelines.tables import artifacts, pipeline_runs, step_runs

if TYPE_CHECKING:
    from mloop.store import Workspace

# engine statuses -> step-run statuses (a task that never started reads as Pending)
_STATUS = {"Succeeded": g.SUCCEEDED, "Failed": g.FAILED, "Skipped": g.SKIPPED, "NotRun": g.PENDING}
_LOG_LIMIT = 200_000


def cache_key(comp: dict[str, Any], executor: dict[str, Any] | None, params: dict[str, Any],
              digests: dict[str, str]) -> str:
    """The component spec's digest plus the inputs' content digests (never their URIs)."""
    body = json.dumps({"component": comp, "executor": executor, "params": params, "artifacts": digests},
                      sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode()).hexdigest()


class Recorder:
    """Writes the rows of one group step's inner tasks (thread-safe: tasks run on threads)."""

    def __init__(self, ws: Workspace, run_id: str, step: str, func: Callable[[str], str]) -> None:
        self.ws, self.run_id, self.step, self.kind_of = ws, run_id, step, func
        self.rows: dict[str, int] = {}  # task path -> step_runs.id
        self.logs: dict[str, list[str]] = {}
        self.started: dict[str, Any] = {}  # task path -> when it began
        self.stored: dict[str, tuple[ArtifactInfo, int | None]] = {}  # artifact uri -> info, row id
        self.lock = threading.Lock()
        self._previous: dict[str, tuple[dict[str, Any], dict[str, ArtifactInfo]]] | None = None

    # ------------------------------------------------------------------ rows

    def begin(self, path: str, component: str, params: dict[str, Any], key: str | None) -> None:
        started = runs.now()
        with self.lock:
            self.started[path] = started
        self._row(path, component, g.EXECUTING, started_at=started, attempts=1, cache_key=key,
                  params=_jsonable(params))

    def end(self, path: str, component: str, status: str, message: str, outputs: dict[str, Any] | None,
            inputs: dict[str, Any], mlflow_run_id: str | None) -> None:
        """Finish the row: status, one-line message, log, outputs stored, inputs' uses."""
        row = self.rows.get(path)
        if row is None:  # never begun: skipped, not run, or its inputs failed to resolve
            row = self._row(path, component, status)
        stored = {k: self._store(v) for k, v in (outputs or {}).items() if v is not None}
        uses = {k: used for k, v in inputs.items() if (used := self._use(v)) is not None}
        with self.lock:
            text, started = "".join(self.logs.pop(path, [])), self.started.pop(path, None)
        finished = runs.now()
        ids = runs.finish_step(self.ws, row, {
            "status": _STATUS.get(status, status), "message": message[:1000] or None,
            "metrics": artifact_metrics(outputs or {}),
            "finished_at": finished, "logs": text[-_LOG_LIMIT:],
            "duration_s": round((finished - started).total_seconds(), 4) if started else None,
            "mlflow_run_id": mlflow_run_id}, {k: info for k, (info, _) in stored.items()}, uses)
        with self.lock:  # what later tasks read from these URIs was produced by this row
            for name, (info, _) in stored.items():
                for uri in _uris(outputs, name):
                    if self.stored.get(uri, (info, None))[1] is None:  # a group re-exporting keeps its task's
                        self.stored[uri] = (info, ids.get(name))

    def skipped(self, path: str, component: str, components: dict[str, Any], why: str) -> None:
        """A task not run because of a condition, and every task inside it, end Skipped."""
        self.end(path, component, "Skipped", why, None, {}, None)
        for name, task in components[component].get("dag", {}).get("tasks", {}).items():
            self.skipped(f"{path}/{name}", task["componentRef"]["name"], components, why)

    def log(self, path: str, text: str) -> None:
        with self.lock:
            self.logs.setdefault(path.split("@", 1)[0], []).append(text)

    def _row(self, path: str, component: str, status: str, **values: Any) -> int:
        values = {"attempts": 0, "params": {}, **values}
        with self.ws.db.begin() as conn:
            result = conn.execute(step_runs.insert().values(
                run_id=self.run_id, step_name=path[:200], kind=self.kind_of(component),
                func=f"kfp:{component}"[:500], status=status, metrics={}, outputs={}, **values))
            row = int(result.inserted_primary_key[0])  # type: ignore[index]
        with self.lock:
            self.rows[path] = row
        return row

    # ------------------------------------------------------------- artifacts

    def digest(self, value: Any) -> str:
        """The content digest an input or output is stored under (stored once per URI)."""
        return self._store(value)[0].digest

    def _store(self, value: Any) -> tuple[ArtifactInfo, int | None]:
        uri = _uri(value)
        with self.lock:
            if uri and uri in self.stored:
                return self.stored[uri]
        info = save_output(self.ws, StoredArtifact.from_dsl(value) if uri is not None else value)
        if uri:
            with self.lock:
                self.stored.setdefault(uri, (info, None))
        return info, None

    def _use(self, value: Any) -> int | None:
        uri = _uri(value)
        with self.lock:
            found = self.stored.get(uri) if uri else None
        return found[1] if found else None

    # ------------------------------------------------------------------ retry

    def reuse(self, path: str, component: str, key: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """The outputs of this task from the run being retried, if it succeeded there with the
        same key and its artifacts verify; the task's row then reads Cached."""
        with self.lock:  # read once, when the first inner task could reuse something
            if self._previous is None:
                self._previous = _retried_tasks(self.ws, self.run_id, self.step)
            found = self._previous.get(path)
        if found is None or found[0]["cache_key"] != key or not intact(self.ws, found[1]):
            return None
        origin, infos = found
        source = origin["cached_from"] or origin["id"]
        values = {}
        for name, info in infos.items():
            value = load_output(self.ws, info)
            values[name] = value.to_dsl() if isinstance(value, StoredArtifact) else value
        row = self._row(path, component, g.CACHED)
        now = runs.now()
        ids = runs.finish_step(self.ws, row, {
            "status": g.CACHED, "cache_key": key, "cached_from": source, "params": _jsonable(params),
            "metrics": origin["metrics"] or {}, "mlflow_run_id": origin["mlflow_run_id"],
            "started_at": now, "finished_at": now, "duration_s": 0.0,
            "message": f"reused step run #{source} (run {origin['run_id']})"}, infos, {})
        with self.lock:
            for name in values:
                for uri in _uris(values, name):
                    self.stored[uri] = (infos[name], ids.get(name))
        return values


def _retried_tasks(ws: Workspace, run_id: str, step: str) -> dict[str, tuple[dict[str, Any], dict[str, ArtifactInfo]]]:
    """Succeeded inner tasks of `step` in the run this run retries: path -> (row, outputs)."""
    with ws.db.begin() as conn:
        origin = conn.execute(select(pipeline_runs.c.origin_run_id, pipeline_runs.c.origin_kind)
                              .where(pipeline_runs.c.id == run_id)).first()
        if origin is None or origin.origin_kind != "retry" or not origin.origin_run_id:
            return {}
        rows = [dict(r._mapping) for r in conn.execute(
            select(step_runs).where(step_runs.c.run_id == origin.origin_run_id,
                                    step_runs.c.status.in_([g.SUCCEEDED, g.CACHED]),
                                    step_runs.c.cache_key.is_not(None)))]
        rows = [r for r in rows if r["step_name"] != step and runs.parent_step(r["step_name"]) == step]
        return {r["step_name"]: (r, _outputs(conn, artifacts, r["id"])) for r in rows}


def _uri(value: Any) -> str | None:
    if hasattr(value, "schema_title"):
        return str(value.uri or "")
    if isinstance(value, list) and value and all(hasattr(v, "schema_title") for v in value):
        return "|".join(str(v.uri) for v in value)
    return None


def _uris(values: dict[str, Any] | None, name: str) -> list[str]:
    uri = _uri((values or {}).get(name))
    return [uri] if uri else []


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(params, default=str))
