"""Kubeflow Pipelines front end: KFP v2 IR (YAML/JSON) and `@dsl.pipeline` functions run locally.

    from mloop.pipelines import run_pipeline
    record = run_pipeline(ws, "e2e_pipeline.yaml", {"n_estimators": 200})
    record = run_pipeline(ws, "examples/kfp/housing_pipeline.py:pipeline", {"data_path": "h.csv"})

`load` turns the reference into mloop's executor graph (checking up front what cannot run
here); from then on runs, retry, clone, caching, lineage, the dashboard and MLflow tracking
are mloop's own. Components run through the kfp package's `executor_main` in a warm worker.
"""

from __future__ import annotations

from typing import Any

from mloop.lazy_exports import lazy_exports

# Names load lazily: the warm worker's server (`warm.py`) imports this package, and each task
# forks from it, so it must stay lean (no SQLAlchemy, pandas or the rest of the front end).
_EXPORTS: dict[str, str] = {
    "KfpPipeline": "mloop.pipelines.kfp_frontend.loader",
    "KfpUnsupported": "mloop.pipelines.kfp_frontend.errors",
    "is_kfp_object": "mloop.pipelines.kfp_frontend.spec",
    "is_kfp_ref": "mloop.pipelines.kfp_frontend.loader",
    "load": "mloop.pipelines.kfp_frontend.loader",
    "load_object": "mloop.pipelines.kfp_frontend.loader",
}

__all__ = sorted(_EXPORTS)


_load, __dir__ = lazy_exports("mloop.pipelines.kfp_frontend", _EXPORTS, globals(), __all__)


def __getattr__(name: str) -> Any:
    return _load(name)
