"""The reference pipelines: names, parameters, wiring and the metric gate, without running them."""

from __future__ import annotations

import pytest

from mloop.pipelines.catalog import import_ref
from mloop.recipes.pipelines import BUILTIN


@pytest.fixture(scope="module")
def graphs() -> dict:
    return {name: import_ref(ref, name).graph for name, ref in BUILTIN.items()}


def test_builtin_table_names_the_three_reference_pipelines(graphs: dict) -> None:
    assert set(BUILTIN) == {"ad-click-ctr", "housing", "tabular"}
    for name, graph in graphs.items():
        assert graph.name == name


@pytest.mark.parametrize("name, params", [
    ("ad-click-ctr", {"n_estimators": 100, "max_depth": 6, "learning_rate": 0.1, "auc_threshold": 0.7,
                      "test_size": 0.2, "experiment_name": "ad-click-ctr", "model_name": "ad-click-ctr",
                      "deploy_endpoint": ""}),
    # seed 003's run parameters and defaults (max_depth 10), plus where to deploy
    ("housing", {"data_source": "synthetic", "experiment_name": "housing", "model_name": "housing",
                 "namespace": "", "n_estimators": 100, "max_depth": 10, "r2_threshold": 0.75,
                 "deploy_endpoint": ""}),
    ("tabular", {"feature_group": "", "data_source": "", "target": "target", "task": "auto",
                 "threshold": 0.7, "model_name": "tabular-model", "deploy_endpoint": ""}),
])
def test_parameters_and_defaults(graphs: dict, name: str, params: dict) -> None:
    declared = {p: spec.default for p, spec in graphs[name].params.items()}
    for key, default in params.items():
        assert declared[key] == default, key


@pytest.mark.parametrize("name, metric, threshold", [
    ("ad-click-ctr", "auc", "auc_threshold"), ("housing", "r2", "r2_threshold"), ("tabular", "score", "threshold"),
])
def test_gate_registers_or_alerts(graphs: dict, name: str, metric: str, threshold: str) -> None:
    graph = graphs[name]
    condition = next(n for n in graph.nodes.values() if n.kind == "Condition")
    assert condition.options["expression"] == f"evaluate.output[{metric!r}] >= {threshold}"
    register, alert = graph.nodes["register"], graph.nodes["alert"]
    assert register.kind == "RegisterModel" and register.when == [(condition.name, True)]
    assert alert.kind == "Alert" and alert.when == [(condition.name, False)]
    assert not register.options["cache"] and not alert.options["cache"]
    assert graph.nodes["train"].kind == "Training" and graph.nodes["evaluate"].kind == "Evaluation"
    deploy = graph.nodes["deploy"]  # Deploy follows Register inside the passing branch
    assert deploy.kind == "Deploy" and deploy.upstream() == ["register", condition.name]
    assert deploy.when == [(condition.name, True)]


def test_step_order(graphs: dict) -> None:
    def upstream(graph: object, name: str) -> set[str]:
        return set(graph.nodes[name].upstream())  # type: ignore[attr-defined]

    housing = graphs["housing"]
    assert upstream(housing, "validate") == {"load"}
    assert upstream(housing, "feature-engineering") == {"preprocess"}
    assert upstream(housing, "train") == {"feature-engineering"}
    assert "extract" in graphs["ad-click-ctr"].nodes
    # extract's feature group (a parameter) joins the cache key through its data version
    assert graphs["ad-click-ctr"].nodes["extract"].options["feature_group_args"] == ["group"]


def test_the_installed_entry_points_declare_exactly_the_builtin_pipelines() -> None:
    # The pipeline catalog (a layer below recipes) finds them through the package metadata.
    from mloop.pipelines.catalog import builtin_pipelines

    assert builtin_pipelines() == BUILTIN, "pyproject's [project.entry-points.\"mloop.pipelines\"] drifted"
