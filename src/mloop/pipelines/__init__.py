"""Pipelines: a typed-function DSL, a local executor with content caching, run records, KFP.

    from mloop.pipelines import step, pipeline, If, Else, run_pipeline

    @step
    def load(n: int) -> pd.DataFrame: ...

    @pipeline(name="demo")
    def demo(n: int = 100, threshold: float = 0.5):
        report = evaluate(train(load(n)))
        with If(report["auc"] >= threshold):
            register(report)
        with Else():
            alert(report)

    record = run_pipeline(ws, demo, {"n": 200})

Names load lazily so `import mloop.pipelines` stays cheap.
"""

from __future__ import annotations

from typing import Any

from mloop.lazy_exports import lazy_exports

_EXPORTS: dict[str, str] = {
    "step": "mloop.pipelines.stepdef",
    "pipeline": "mloop.pipelines.dsl",
    "If": "mloop.pipelines.dsl",
    "Else": "mloop.pipelines.dsl",
    "Pipeline": "mloop.pipelines.dsl",
    "StepDef": "mloop.pipelines.stepdef",
    "FeatureGroupName": "mloop.pipelines.typecheck",
    "Graph": "mloop.pipelines.graph",
    "Node": "mloop.pipelines.graph",
    "PipelineDefinitionError": "mloop.pipelines.errors",
    "PipelineNotFound": "mloop.pipelines.errors",
    "RunNotFound": "mloop.pipelines.errors",
    "StepFailed": "mloop.pipelines.errors",
    "run_pipeline": "mloop.pipelines.executor",
    "current_context": "mloop.pipelines.context",
    "StepContext": "mloop.pipelines.context",
    "register_materializer": "mloop.pipelines.materializers",
    "Materializer": "mloop.pipelines.materializers",
    "load_pipeline": "mloop.pipelines.catalog",
    "list_pipelines": "mloop.pipelines.catalog",
    "get_run": "mloop.pipelines.runs",
    "list_runs": "mloop.pipelines.runs",
    "step_logs": "mloop.pipelines.runs",
    "load_artifact": "mloop.pipelines.runs",
    "RunRecord": "mloop.pipelines.runs",
    "StepRunRecord": "mloop.pipelines.runs",
    "retry_run": "mloop.pipelines.executor",
    "clone_run": "mloop.pipelines.executor",
    "compile_kfp": "mloop.pipelines.kfp",
}

__all__ = sorted(_EXPORTS)


_load, __dir__ = lazy_exports("mloop.pipelines", _EXPORTS, globals(), __all__)


def __getattr__(name: str) -> Any:
    return _load(name)
