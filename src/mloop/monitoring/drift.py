"""Drift reports: current traffic vs the training data of the model version that served it.

`compare()` is the pure part (two DataFrames in, a report out); `drift_report()` finds the two
DataFrames (interactions of the last window, training data through lineage), writes the JSON and
HTML report and raises an alert through `mloop.alerts` when a threshold is passed.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mloop.monitoring.stats import FeatureDrift, feature_drift, psi

if TYPE_CHECKING:
    import pandas as pd

    from mloop.config import MonitoringSettings

PREDICTION_BINS = [i / 10 for i in range(11)]


@dataclass
class DriftReport:
    """What a drift check found; `drifted` is True when at least one threshold was passed."""

    endpoint: str
    window: str
    generated_at: str
    rows_reference: int
    rows_current: int
    features: list[FeatureDrift]
    prediction: dict[str, Any]
    thresholds: dict[str, Any]
    drifted: bool
    reasons: list[str]
    served_by: list[dict[str, Any]] = field(default_factory=list)
    reference: dict[str, Any] = field(default_factory=dict)
    alert_id: int | str | None = None
    paths: dict[str, str] = field(default_factory=dict)
    # one entry per (model, version, variant, shadow): see `mloop.monitoring.segments`
    segments: list[dict[str, Any]] = field(default_factory=list)
    retrain: dict[str, Any] | None = None  # what `retrain_on_drift` decided (started / skipped)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["features"] = [f.to_dict() for f in self.features]
        return data


def compare(reference: pd.DataFrame, current: pd.DataFrame, features: list[str],
            thresholds: MonitoringSettings, *, endpoint: str = "", window: str = "",
            prediction_column: str = "prediction", label_column: str | None = None,
            reference_predictions: list[float] | None = None) -> DriftReport:
    """Per-feature drift of `current` against `reference`, judged by `thresholds`.

    Args:
        reference: the training data (raw features, as the model saw them).
        current: recent interactions (raw features and the prediction).
        features: the columns to compare (present in both).
        thresholds: PSI, KS and missing-rate limits and the minimum row count.
        label_column: the reference's label, to set the mean prediction beside the base rate.
        reference_predictions: the model's scores on the reference; their PSI against the live
            predictions is judged like a feature's.

    Returns:
        The report; `drifted` only when `current` has at least `thresholds.min_rows` rows.
    """
    results = [feature_drift(name, reference[name], current[name]) for name in features]
    reasons: list[str] = []
    for result in results:
        _judge(result, thresholds)
        reasons.extend(f"{result.feature}: {r}" for r in result.reasons)
    prediction = _prediction_summary(current, prediction_column, reference, label_column)
    drifted = any(r.drifted for r in results)
    if reference_predictions and prediction.get("count"):
        prediction.update(_prediction_psi(reference_predictions, prediction["shares"]))
        if prediction["psi"] > thresholds.psi_threshold:
            reasons.append(f"prediction: PSI {prediction['psi']:.3f} > {thresholds.psi_threshold}")
            drifted = True
    enough = len(current) >= thresholds.min_rows
    if not enough:
        reasons = [f"only {len(current)} interactions (< min_rows {thresholds.min_rows}): not judged"]
    return DriftReport(
        endpoint=endpoint, window=window, generated_at=datetime.now(UTC).isoformat(),
        rows_reference=len(reference), rows_current=len(current), features=results,
        prediction=prediction, thresholds=thresholds.model_dump(), drifted=enough and drifted,
        reasons=reasons,
    )


def _prediction_psi(reference: list[float], current_shares: list[float]) -> dict[str, Any]:
    import numpy as np

    counts = np.histogram(np.asarray(reference, dtype=float), bins=PREDICTION_BINS)[0]
    shares = [float(c) / max(len(reference), 1) for c in counts]
    return {"reference_shares": shares, "reference_mean": float(np.mean(reference)),
            "psi": psi(shares, current_shares)}


def _judge(result: FeatureDrift, t: MonitoringSettings) -> None:
    if result.psi > t.psi_threshold:
        result.reasons.append(f"PSI {result.psi:.3f} > {t.psi_threshold}")
    if (result.ks_statistic is not None and result.ks_pvalue is not None
            and result.ks_statistic > t.ks_threshold and result.ks_pvalue < t.ks_pvalue):
        result.reasons.append(f"KS {result.ks_statistic:.3f} > {t.ks_threshold} (p={result.ks_pvalue:.2g})")
    grew = result.missing_current - result.missing_reference
    if grew > t.missing_rate_threshold:
        result.reasons.append(
            f"missing rate {result.missing_current:.1%} vs {result.missing_reference:.1%} in training"
        )
    result.drifted = bool(result.reasons)


def _prediction_summary(current: pd.DataFrame, column: str, reference: pd.DataFrame,
                        label: str | None) -> dict[str, Any]:
    import numpy as np

    if column not in current or current[column].dropna().empty:
        return {"count": 0}
    values = current[column].dropna().astype(float).to_numpy()
    counts = np.histogram(values, bins=PREDICTION_BINS)[0]
    summary: dict[str, Any] = {
        "count": int(values.size), "mean": float(values.mean()),
        "quantiles": {q: float(np.quantile(values, float(q))) for q in ("0.05", "0.25", "0.5", "0.75", "0.95")},
        "bins": [f"[{lo:.1f}, {hi:.1f})" for lo, hi in itertools.pairwise(PREDICTION_BINS)],
        "shares": [float(c) / values.size for c in counts],
    }
    if label and label in reference and len(reference):
        summary["training_positive_rate"] = float(reference[label].astype(float).mean())
    return summary
