"""`mloop endpoints compare` on predictions whose agreement is worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mloop.serving.endpoints.compare import summarize

AT = datetime(2026, 12, 5, 21, 0, tzinfo=UTC)


def rows(variant: str, shadow: bool, values: list[float | None], *, task: str = "classification",
         latency: list[float] | None = None, errors: dict[int, str] | None = None) -> list[dict[str, Any]]:
    return [{"request_id": f"r{i}", "row": 0, "variant": variant, "shadow": shadow, "model_name": "ctr",
             "model_version": 2 if shadow else 1, "task": task, "prediction": v,
             "error": (errors or {}).get(i), "latency_ms": (latency or [1.0] * len(values))[i], "at": AT}
            for i, v in enumerate(values)]


def by_variant(report: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["variant"]: item for item in report}


def test_a_classifier_shadow_against_production() -> None:
    # production 0.2 0.6 0.9 0.4 | shadow 0.3 0.4 0.8 0.45: request r1 flips at 0.5 (0.6 vs 0.4);
    # ranks 1 3 4 2 vs 1 2 4 3: d^2 = 0+1+0+1, rho = 1 - 6*2/(4*15) = 0.8; |diff| .1 .2 .1 .05
    log = rows("production", False, [0.2, 0.6, 0.9, 0.4], latency=[1.0, 2.0, 3.0, 4.0])
    log += rows("shadow", True, [0.3, 0.4, 0.8, 0.45, None], errors={4: "RuntimeError: boom"},
                latency=[10.0, 10.0, 10.0, 10.0, 50.0])
    report = by_variant(summarize(log, {"shadow": 7}))
    shadow = report["shadow"]
    assert shadow["requests"] == 5 and shadow["errors"] == 1 and shadow["error_rate"] == pytest.approx(0.2)
    assert shadow["dropped"] == 7 and shadow["shadow"] is True
    agree = shadow["agreement"]
    assert agree["pairs"] == 4 and agree["task"] == "classification"
    assert agree["decisions_differ"] == pytest.approx(0.25)
    assert agree["spearman"] == pytest.approx(0.8)
    assert agree["mean_abs_diff"] == pytest.approx(0.1125)
    prod = report["production"]
    assert prod["requests"] == 4 and prod["errors"] == 0 and prod["dropped"] is None and "agreement" not in prod
    assert prod["latency_ms"]["p50"] == pytest.approx(2.5)  # numpy's linear interpolation
    assert prod["latency_ms"]["p99"] == pytest.approx(3.97)
    assert shadow["latency_ms"]["p99"] == pytest.approx(48.4)


def test_the_threshold_decides_what_a_flip_is() -> None:
    log = rows("production", False, [0.2, 0.6]) + rows("shadow", True, [0.3, 0.4])
    assert by_variant(summarize(log, {}, 0.5))["shadow"]["agreement"]["decisions_differ"] == 0.5
    assert by_variant(summarize(log, {}, 0.35))["shadow"]["agreement"]["decisions_differ"] == 0.0


def test_a_regressor_shadow_reports_absolute_and_relative_differences() -> None:
    log = rows("production", False, [100.0, 200.0], task="regression")
    log += rows("shadow", True, [110.0, 190.0], task="regression")
    agree = by_variant(summarize(log, {}))["shadow"]["agreement"]
    assert agree["task"] == "regression" and "decisions_differ" not in agree
    assert agree["mean_abs_diff"] == pytest.approx(10.0)
    assert agree["mean_rel_diff"] == pytest.approx(0.075)


def test_pairs_are_by_request_id_and_row_not_by_position() -> None:
    prod = rows("production", False, [0.1, 0.9])
    shadow = list(reversed(rows("shadow", True, [0.1, 0.9])))  # logged in another order
    shadow.append({**shadow[0], "request_id": "only-in-the-shadow"})
    agree = by_variant(summarize(prod + shadow, {}))["shadow"]["agreement"]
    assert agree["pairs"] == 2 and agree["mean_abs_diff"] == 0.0 and agree["decisions_differ"] == 0.0


def test_a_constant_shadow_has_no_rank_correlation_and_no_pairs_no_agreement() -> None:
    log = rows("production", False, [0.2, 0.6, 0.7]) + rows("shadow", True, [0.5, 0.5, 0.5])
    assert by_variant(summarize(log, {}))["shadow"]["agreement"]["spearman"] is None
    lonely = rows("shadow", True, [0.5])
    assert by_variant(summarize(lonely, {}))["shadow"]["agreement"] is None


def test_compare_reads_the_log_of_a_workspace_since_a_time(workspace: Any) -> None:
    from mloop.errors import InvalidInput
    from mloop.serving import compare
    from mloop.serving.endpoints import Endpoint, Variant, apply_change
    from mloop.serving.endpoints.prediction_log import append

    variants = [Variant("production", "ctr", 1, "models:/ctr/1", 100),
                Variant("shadow", "ctr", 2, "models:/ctr/2", 0, shadow=True, sample=0.25)]

    def create(_current: Endpoint | None) -> tuple[list[Variant], str, dict[str, Any]]:
        return variants, "deploy", {}

    apply_change(workspace, "ep", create, create=True)
    now = datetime.now(UTC)
    old = [{**r, "at": now - timedelta(hours=3)}
           for r in rows("production", False, [0.9]) + rows("shadow", True, [0.1])]
    new = [{**r, "request_id": "n" + r["request_id"], "at": now}
           for r in rows("production", False, [0.9, 0.2]) + rows("shadow", True, [0.8, 0.3])]
    append(workspace, "ep", old, {"shadow": 5})
    append(workspace, "ep", new, {"shadow": 2})
    report = compare(workspace, "ep", since="1h")
    shadow = by_variant(report["variants"])["shadow"]
    assert shadow["requests"] == 2 and shadow["dropped"] == 2 and shadow["sample"] == 0.25
    assert shadow["agreement"]["decisions_differ"] == 0.0
    everything = by_variant(compare(workspace, "ep", since=None)["variants"])["shadow"]
    assert everything["requests"] == 3 and everything["dropped"] == 7
    assert everything["agreement"]["decisions_differ"] == pytest.approx(1 / 3)
    with pytest.raises(InvalidInput, match="not a duration"):
        compare(workspace, "ep", since="yesterday")
    with pytest.raises(InvalidInput, match="threshold"):
        compare(workspace, "ep", threshold=1.5)
    from mloop.serving import read_log
    from mloop.serving.endpoints.retire import delete_endpoint

    delete_endpoint(workspace, "ep")  # a new endpoint of the same name starts with an empty log
    assert read_log(workspace, "ep") == [] and drop_rows(workspace) == 0


def drop_rows(ws: Any) -> int:
    from sqlalchemy import func, select

    from mloop.serving.tables import shadow_drops

    with ws.db.begin() as conn:
        return int(conn.execute(select(func.count()).select_from(shadow_drops)).scalar() or 0)
