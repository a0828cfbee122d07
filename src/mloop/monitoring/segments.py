"""Drift per model version and variant: one verdict for each slice of traffic that one model served.

An endpoint with a canary (or a shadow) serves several versions at once; drift in one of them
is diluted in the overall report until it is too late. The interaction log records the model,
version and variant of every prediction (and a `shadow` flag for shadow copies), so the rows are
split by those keys and each slice is compared with the training data of its own version. A slice
with fewer rows than `min_rows` says "insufficient data" instead of a number that means nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mloop.monitoring.drift import compare
from mloop.monitoring.stats import FeatureDrift

if TYPE_CHECKING:
    import pandas as pd

    from mloop.config import MonitoringSettings

KEYS = ("model_name", "model_version", "variant", "shadow")
INSUFFICIENT = "insufficient data"
# (model name, version) -> (training data, where it came from, the model's scores on it or None)
ReferenceFor = Callable[[str | None, int | None], "tuple[pd.DataFrame, dict[str, Any], list[float] | None]"]


@dataclass
class SegmentDrift:
    """Drift of the traffic one (model, version, variant) served; `status` is drift, ok or
    insufficient data (then `features` is empty: no statistic is shown for too few rows)."""

    model_name: str | None
    model_version: int | None
    variant: str | None
    shadow: bool
    rows: int
    status: str
    features: list[FeatureDrift] = field(default_factory=list)
    prediction: dict[str, Any] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    reference: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """`ad-click-ctr v2 · canary (shadow)`: how people name the slice."""
        version = "v?" if self.model_version is None else f"v{self.model_version}"
        variant = self.variant or "(no variant)"
        return f"{self.model_name or '(unknown model)'} {version} · {variant}" + (" (shadow)" if self.shadow else "")

    @property
    def drifted(self) -> bool:
        return self.status == "drift"

    def to_dict(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "model_version": self.model_version, "variant": self.variant,
                "shadow": self.shadow, "label": self.label, "rows": self.rows, "status": self.status,
                "features": [f.to_dict() for f in self.features], "prediction": self.prediction,
                "reasons": self.reasons, "reference": self.reference}


def segment_keys(current: pd.DataFrame) -> pd.DataFrame:
    """The split keys of every row, normalised: versions logged as floats (`2.0`, because a missing
    version made the column float) or strings become ints, blanks become None, `shadow` a bool."""
    import pandas as pd

    keys = pd.DataFrame(index=current.index)
    keys["model_name"] = pd.Series(_text(current.get("model_name"), current.index), index=current.index, dtype=object)
    raw = current.get("model_version", pd.Series(None, index=current.index, dtype=object))
    versions = pd.to_numeric(raw.astype(str).str.strip(), errors="coerce")
    keys["model_version"] = pd.Series([None if v != v else int(v) for v in versions], index=current.index,
                                      dtype=object)  # object: a missing version must not turn 2 into 2.0
    keys["variant"] = pd.Series(_text(current.get("variant"), current.index), index=current.index, dtype=object)
    keys["shadow"] = [_truthy(v) for v in current.get("shadow", pd.Series(False, index=current.index))]
    return keys


def _text(column: pd.Series | None, index: pd.Index) -> list[str | None]:
    if column is None:
        return [None] * len(index)
    return [None if v is None or v != v or not str(v).strip() else str(v).strip() for v in column]


def _truthy(value: Any) -> bool:
    if value is None or value != value:  # None, NaN
        return False
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "t", "y")
    return bool(value)


def split_drift(current: pd.DataFrame, features: list[str], thresholds: MonitoringSettings,
                reference_for: ReferenceFor, *, prediction_column: str = "prediction",
                label_column: str | None = None) -> list[SegmentDrift]:
    """One `SegmentDrift` per (model, version, variant, shadow) in `current`, most rows first.

    Args:
        current: the interactions of the window (raw features, prediction and the split keys).
        features: the columns to compare.
        thresholds: the monitoring settings; `min_rows` applies to each slice.
        reference_for: the training data (and baseline scores) of a model version.
        label_column: the reference's label, for the base rate beside the mean prediction.

    Returns:
        The slices; one with fewer than `thresholds.min_rows` rows is `insufficient data`.
    """
    keys = segment_keys(current)
    groups = keys.groupby(list(KEYS), dropna=False, sort=False).groups
    segments: list[SegmentDrift] = []
    for key, index in groups.items():
        name, version, variant, shadow = (None if _missing(k) else k for k in key)
        rows = current.loc[index]
        segment = SegmentDrift(model_name=name, model_version=None if version is None else int(version),
                               variant=variant, shadow=bool(shadow), rows=len(rows), status=INSUFFICIENT)
        if len(rows) < thresholds.min_rows:
            segment.reasons = [f"only {len(rows)} interactions (< min_rows {thresholds.min_rows})"]
        else:
            reference, info, baseline = reference_for(segment.model_name, segment.model_version)
            usable = [f for f in features if f in reference.columns]
            report = compare(reference, rows, usable, thresholds, prediction_column=prediction_column,
                             label_column=label_column if label_column in reference.columns else None,
                             reference_predictions=baseline)
            segment.status = "drift" if report.drifted else "ok"
            segment.features, segment.prediction = report.features, report.prediction
            segment.reasons, segment.reference = report.reasons, info
        segments.append(segment)
    return sorted(segments, key=lambda s: (-s.rows, s.label))


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)
