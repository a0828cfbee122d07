"""Experiments on a real workspace: the new user's mistakes, the outcome rule, decisions, promotion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from mloop import experiments, serving
from mloop.experiments import InvalidExperiment
from tests.support.experiments import ENDPOINT, app_groups, make_endpoint, traffic


def test_start_without_the_apps_feedback_group_says_how_to_get_one(workspace: Any) -> None:
    make_endpoint(workspace)
    with pytest.raises(InvalidExperiment) as err:
        experiments.start(workspace, ENDPOINT, ["production", "canary"])
    assert "user-interactions" in err.value.message
    assert f"mloop app --endpoint {ENDPOINT}" in (err.value.hint or "")


def test_start_with_one_variant_says_how_to_add_a_canary(workspace: Any) -> None:
    from mloop.serving.endpoints import Variant, apply_change

    only = [Variant("production", "ctr-model", 1, "models:/ctr-model/1", 100)]
    apply_change(workspace, ENDPOINT, lambda _: (only, "deploy", {}), create=True)
    app_groups(workspace)
    with pytest.raises(InvalidExperiment) as err:
        experiments.start(workspace, ENDPOINT, ["production"])
    assert "two different variants" in err.value.message
    assert "--variant canary --weight 50" in (err.value.hint or "")
    with pytest.raises(InvalidExperiment) as err:
        experiments.start(workspace, ENDPOINT, ["production", "canary"])
    assert "no variant 'canary'" in err.value.message


def test_start_with_an_unknown_metric_lists_the_known_ones(workspace: Any) -> None:
    make_endpoint(workspace)
    app_groups(workspace)
    with pytest.raises(InvalidExperiment) as err:
        experiments.start(workspace, ENDPOINT, ["production", "canary"], metric="CTR ")
    assert "unknown metric 'CTR '" in err.value.message
    assert "ctr (" in (err.value.hint or "")


def test_one_running_experiment_per_endpoint_and_stop_ends_it(workspace: Any) -> None:
    make_endpoint(workspace)
    app_groups(workspace)
    first = experiments.start(workspace, ENDPOINT, ["production", "canary"])
    with pytest.raises(experiments.ExperimentConflict, match=f"already runs experiment {first.id}"):
        experiments.start(workspace, ENDPOINT, ["production", "canary"])
    stopped = experiments.stop(workspace, first.id)
    assert (stopped.status, stopped.decision) == ("stopped", "stopped")
    with pytest.raises(experiments.ExperimentConflict):
        experiments.stop(workspace, first.id)
    assert experiments.evaluate(workspace, first.id)["decision"] == "stopped"
    experiments.start(workspace, ENDPOINT, ["production", "canary"])  # the endpoint is free again


def _exp(**settings: Any) -> Any:
    started = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    return experiments.Experiment(
        id=1, endpoint=ENDPOINT, metric="ctr", auto_promote=False, status="running", decision="running",
        p_value=1.0, started_at=started,
        variants=[{"name": "production", "model_name": "m", "model_version": 1},
                  {"name": "canary", "model_name": "m", "model_version": 2}],
        settings={"label_window": "1h", **settings})


def test_the_no_click_rule_counts_silence_only_after_the_label_window() -> None:
    from mloop.experiments.outcomes import count_outcomes

    t0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    now = t0 + timedelta(hours=2)
    rows = [  # (id, minutes after the start, variant, version, endpoint)
        ("click", 1, "canary", 2, ENDPOINT),
        ("no-click-said", 2, "canary", 2, ENDPOINT),
        ("late-click", 3, "canary", 2, ENDPOINT),  # feedback after the window: no click
        ("silent-closed", 4, "canary", 2, ENDPOINT),  # no feedback, window closed: no click
        ("silent-open", 100, "canary", 2, ENDPOINT),  # no feedback yet, window open: pending
        ("fresh-click", 110, "canary", 2, ENDPOINT),  # feedback inside an open window: counts
        ("skewed", 5, "canary", 2, ENDPOINT),  # feedback stamped before the prediction: ignored
        ("old-version", 6, "canary", 1, ENDPOINT),  # another model under the same variant name
        ("other-endpoint", 7, "canary", 2, "other"),
        ("before-start", -5, "canary", 2, ENDPOINT),
        ("prod-click", 8, "production", 1, ENDPOINT),
    ]
    interactions = pd.DataFrame([{"request_id": r, "event_time": t0 + timedelta(minutes=m), "variant": v,
                                  "model_version": ver, "endpoint": e} for r, m, v, ver, e in rows])
    fb = [("click", 1, 1), ("no-click-said", 2, 0), ("late-click", 3 + 61, 1), ("fresh-click", 111, 1),
          ("skewed", 4, 1), ("old-version", 7, 1), ("prod-click", 9, 1)]
    feedback = pd.DataFrame([{"request_id": r, "event_time": t0 + timedelta(minutes=m, seconds=30),
                              "clicked": c} for r, m, c in fb])
    feedback.loc[feedback.request_id == "skewed", "event_time"] = t0 + timedelta(minutes=4)
    counts = count_outcomes(interactions, feedback, _exp(), now)
    assert counts["canary"] == experiments.Counts(samples=6, outcomes=2, pending=1)
    assert counts["production"] == experiments.Counts(samples=1, outcomes=1, pending=0)


def test_a_better_canary_is_promoted_with_evidence_in_the_history_and_an_alert(workspace: Any) -> None:
    from mloop.alerts import list_alerts

    make_endpoint(workspace)
    store = app_groups(workspace)
    exp = experiments.start(workspace, ENDPOINT, ["production", "canary"], auto_promote=True)
    traffic(store, {"production": 0.10, "canary": 0.10}, 400, seed=1)
    early = experiments.evaluate(workspace, exp.id)
    assert early["decision"] == "running" and "waiting for 1000 samples" in early["reason"]
    traffic(store, {"production": 0.10, "canary": 0.16}, 6000, seed=2)
    report = experiments.evaluate(workspace, exp.id)
    assert report["decision"] == "winner:canary", report
    canary = report["variants"][1]
    assert canary["samples"] == 6400 and canary["rate"] == canary["outcomes"] / 6400
    assert report["interval"][0] > 0 and report["p_value"] <= 0.05
    assert [look["counts"]["canary"][0] for look in report["looks"]] == [400, 6400]
    endpoint = serving.get_endpoint(workspace, ENDPOINT)
    assert [(v.name, v.model_version, v.weight) for v in endpoint.variants] == [("production", 2, 100)]
    last = serving.history(workspace, ENDPOINT, limit=1)[0]
    assert (last["action"], last["principal"]) == ("experiment", "experiment")
    assert last["detail"]["experiment"] == exp.id and last["detail"]["interval"] == report["interval"]
    alert = list_alerts(workspace, source="experiments")[0]
    assert alert.detail["experiment"] == exp.id and "promoted 'canary'" in alert.title
    again = experiments.evaluate(workspace, exp.id)  # a later look changes nothing
    assert again["decision"] == "winner:canary" and len(serving.history(workspace, ENDPOINT)) == 2


def test_a_worse_canary_goes_to_weight_zero(workspace: Any) -> None:
    make_endpoint(workspace, weights=(70, 30))
    store = app_groups(workspace)
    exp = experiments.start(workspace, ENDPOINT, ["production", "canary"], auto_promote=True)
    traffic(store, {"production": 0.15, "canary": 0.08}, 5000, seed=3)
    assert experiments.evaluate(workspace, exp.id)["decision"] == "winner:production"
    weights = {v.name: v.weight for v in serving.get_endpoint(workspace, ENDPOINT).variants}
    assert weights == {"production": 100, "canary": 0}


def test_an_aa_test_ends_no_difference_and_promotes_nothing(workspace: Any) -> None:
    make_endpoint(workspace)
    store = app_groups(workspace)
    exp = experiments.start(workspace, ENDPOINT, ["production", "canary"], auto_promote=True, margin=0.02)
    traffic(store, {"production": 0.10, "canary": 0.10}, 8000, seed=4)
    report = experiments.evaluate(workspace, exp.id)
    assert report["decision"] == "no_difference", report
    assert report["interval"][0] >= -0.02 and report["interval"][1] <= 0.02
    assert "practical equivalence" in report["reason"]
    assert len(serving.history(workspace, ENDPOINT)) == 1  # nothing promoted


def test_no_promotion_when_the_endpoint_changed_under_the_experiment(workspace: Any) -> None:
    from mloop.alerts import list_alerts

    make_endpoint(workspace)
    store = app_groups(workspace)
    exp = experiments.start(workspace, ENDPOINT, ["production", "canary"], auto_promote=True)
    traffic(store, {"production": 0.10, "canary": 0.18}, 4000, seed=5)
    from mloop.serving.endpoints import Variant, apply_change

    v3 = [Variant("production", "ctr-model", 1, "models:/ctr-model/1", 50),  # a new canary mid-experiment
          Variant("canary", "ctr-model", 3, "models:/ctr-model/3", 50)]
    apply_change(workspace, ENDPOINT, lambda _: (v3, "deploy", {}))
    report = experiments.evaluate(workspace, exp.id)
    assert report["decision"] == "winner:canary"
    assert report["action"]["promoted"] is False and "no longer serves" in report["action"]["reason"]
    assert list_alerts(workspace, source="experiments")[0].severity == "warning"
