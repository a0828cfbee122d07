"""A nested MLflow run per KFP task, as KFP 2.17's MLflow integration makes one.

The tracking hook opens the pipeline run's MLflow parent run; every task that runs something
(a Python component, a container command, an importer; inside loops, conditions and nested
pipelines too) gets its own run nested under that parent. The task's process sees
`MLFLOW_TRACKING_URI` and `MLFLOW_RUN_ID` (the nested run), so `mlflow.start_run()` or
`mlflow.log_metric()` inside the component log to it. When the task ends, its input parameters
(those the component did not log itself), its Metrics artifacts' values and its outputs'
content digests (tags `mloop.output.NAME`) are logged, and the run is FINISHED or FAILED.
A tracking store that stops answering mid-run stops the tracking, never the run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mloop import tracking
from mloop.errors import MloopError
from mloop.tracking.client import tracking_uri

if TYPE_CHECKING:
    from mloop.store import Workspace

log = logging.getLogger("mloop.pipelines")
METRIC_TITLES = ("system.Metrics",)


def content_digest(value: Any) -> str:
    """sha256 of an output's content: an artifact file's bytes (what `sha256sum` prints); for a
    directory, of its `relative/path digest` lines in order; for a list of artifacts, of their
    digests in order; for a parameter, of its JSON."""
    if isinstance(value, list) and value and all(hasattr(v, "schema_title") for v in value):
        return _sha("\n".join(content_digest(v) for v in value).encode())
    if hasattr(value, "schema_title"):
        path = Path(value.path) if value.uri else None
        if path is not None and path.is_file():
            return _file_sha(path)
        if path is not None and path.is_dir():
            lines = [f"{p.relative_to(path).as_posix()} {_file_sha(p)}"
                     for p in sorted(path.rglob("*")) if p.is_file()]
            return _sha("\n".join(lines).encode())
        return _sha(b"")
    return _sha(json.dumps(value, sort_keys=True, default=str).encode())


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def artifact_metrics(artifacts: dict[str, Any]) -> dict[str, float]:
    """The numeric values of a task's Metrics artifacts (what `metrics.log_metric` wrote)."""
    found: dict[str, float] = {}
    for art in artifacts.values():
        for one in art if isinstance(art, list) else [art]:
            if getattr(one, "schema_title", "") in METRIC_TITLES:
                found.update({k: float(v) for k, v in (one.metadata or {}).items()
                              if isinstance(v, int | float) and not isinstance(v, bool)})
    return found


class TaskRuns:
    """Opens and closes the nested MLflow runs of one step's tasks (thread-safe)."""

    def __init__(self, ws: Workspace, parent_run_id: str, experiment: str, run_id: str,
                 pipeline: str, step: str) -> None:
        self.ws, self.parent, self.experiment = ws, parent_run_id, experiment
        self.run_id, self.pipeline, self.step = run_id, pipeline, step
        self.opened: dict[str, str] = {}  # task path -> MLflow run id
        self.down: str | None = None
        self._lock = threading.Lock()

    def _guarded(self, what: str, func: Any, *args: Any, **kwargs: Any) -> Any:
        if self.down is not None:
            return None
        try:
            return func(*args, **kwargs)
        except MloopError as exc:
            with self._lock:
                self.down = exc.message
            log.warning("tracking of run %s stopped while %s: %s", self.run_id, what, exc.message)
            return None

    def open(self, path: str) -> dict[str, str]:
        """Open the task's nested run; the environment its process needs to log to it."""
        run = self._guarded(f"opening {path}", tracking.create_run, self.ws, experiment=self.experiment,
                            run_name=f"{self.run_id}/{path}", parent_run_id=self.parent,
                            tags={"mloop.pipeline": self.pipeline, "mloop.run_id": self.run_id,
                                  "mloop.step": self.step, "mloop.kfp.task": path})
        if run is None:
            return {}
        with self._lock:
            self.opened[path] = run.run_id
        return {"MLFLOW_TRACKING_URI": tracking_uri(self.ws), "MLFLOW_RUN_ID": run.run_id,
                "MLFLOW_EXPERIMENT_ID": str(run.experiment_id)}

    def close(self, path: str, params: dict[str, Any], outputs: dict[str, Any] | None,
              ok: bool) -> None:
        """Log the task's inputs, metrics and output digests; FINISHED or FAILED."""
        run_id = self.opened.get(path)
        if run_id is None:
            return
        self._guarded(f"closing {path}", self._close, tracking, run_id, params, outputs or {}, ok)

    def _close(self, tracking: Any, run_id: str, params: dict[str, Any], outputs: dict[str, Any],
               ok: bool) -> None:
        try:
            logged = tracking.get_run(self.ws, run_id)["params"]  # the component's own win
            fresh = {k: v for k, v in params.items() if v is not None and k not in logged}
            if fresh:
                tracking.log_params(self.ws, run_id, fresh)
            metrics = artifact_metrics(outputs)
            if metrics:
                tracking.log_metrics(self.ws, run_id, metrics)
            if outputs:
                tracking.set_tags(self.ws, run_id, {f"mloop.output.{k}": f"sha256:{content_digest(v)}"
                                                    for k, v in outputs.items()})
        finally:
            tracking.end_run(self.ws, run_id, "FINISHED" if ok else "FAILED")
