"""How a KFP task appears as an mloop node, shared by the translation (`translate.py`) and the
step that executes it (`steps.py`): the prefixes of its input names, its lineage kind, and the
trigger strategy of tasks that run after a failure."""

from __future__ import annotations

from typing import Any

from mloop.pipelines import graph as g

PARAM, ARTIFACT = "p:", "a:"  # a step input named p:<key> is a KFP parameter, a:<key> an artifact
ALL_DONE = "ALL_UPSTREAM_TASKS_COMPLETED"  # KFP runs such a task even after its upstream failed


def task_kind(comp: dict[str, Any]) -> str:
    """The lineage kind of a component: Training if it outputs a Model, Evaluation if metrics."""
    titles = {a.get("artifactType", {}).get("schemaTitle")
              for a in comp.get("outputDefinitions", {}).get("artifacts", {}).values()}
    if "system.Model" in titles:
        return g.TRAINING
    if titles & {"system.Metrics", "system.ClassificationMetrics", "system.SlicedClassificationMetrics"}:
        return g.EVALUATION
    return g.PROCESSING
