"""Drift statistics between a reference sample (training data) and a current one (traffic).

Population stability index (PSI) on bins fixed by the reference (deciles for numbers, the
categories for strings); two-sample Kolmogorov-Smirnov for numbers; missing-value rates. Missing
values are kept out of PSI and KS and reported on their own, so a feature that suddenly goes
missing is seen as such and not as a shifted distribution.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

EPSILON = 1e-4  # empty bins would make PSI infinite


@dataclass
class FeatureDrift:
    """Drift of one feature: the statistics, the histogram both sides, and whether it alerts."""

    feature: str
    kind: str  # "numeric" | "categorical"
    psi: float
    ks_statistic: float | None
    ks_pvalue: float | None
    missing_reference: float
    missing_current: float
    bins: list[str]
    reference: list[float]  # share of non-missing values per bin
    current: list[float]
    drifted: bool = False
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def psi(reference: Sequence[float] | np.ndarray, current: Sequence[float] | np.ndarray) -> float:
    """PSI of two share vectors over the same bins (each sums to 1)."""
    import numpy as np

    ref = np.clip(np.asarray(reference, dtype=float), EPSILON, None)
    cur = np.clip(np.asarray(current, dtype=float), EPSILON, None)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def numeric_bins(reference: pd.Series, bins: int = 10) -> np.ndarray:
    """Bin edges at the reference's quantiles (open at both ends, duplicates dropped)."""
    import numpy as np

    values = reference.dropna().astype(float).to_numpy()
    if values.size == 0:
        return np.array([-np.inf, np.inf])
    inner = np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1]))
    return np.concatenate([[-np.inf], inner, [np.inf]])


def shares_numeric(values: pd.Series, edges: np.ndarray) -> list[float]:
    import numpy as np

    data = values.dropna().astype(float).to_numpy()
    if data.size == 0:
        return [0.0] * (len(edges) - 1)
    counts = np.histogram(data, bins=edges)[0]
    return [float(c) / data.size for c in counts]


def shares_categorical(values: pd.Series, categories: list[str]) -> list[float]:
    data = values.dropna().astype(str)
    if data.empty:
        return [0.0] * len(categories)
    counts = data.value_counts()
    return [float(counts.get(c, 0)) / len(data) for c in categories]


def missing_rate(values: pd.Series) -> float:
    return float(values.isna().mean()) if len(values) else 0.0


def is_numeric(values: pd.Series) -> bool:
    import pandas as pd

    return bool(pd.api.types.is_numeric_dtype(values)) and not pd.api.types.is_bool_dtype(values)


def feature_drift(name: str, reference: pd.Series, current: pd.Series) -> FeatureDrift:
    """PSI (+ KS for numbers) and missing rates of one feature."""
    if is_numeric(reference) and (current.dropna().empty or is_numeric(current)):
        return _numeric(name, reference, current)
    return _categorical(name, reference, current)


def _numeric(name: str, reference: pd.Series, current: pd.Series) -> FeatureDrift:
    from scipy.stats import ks_2samp

    edges = numeric_bins(reference)
    ref_shares = shares_numeric(reference, edges)
    cur_shares = shares_numeric(current, edges)
    ref_values = reference.dropna().astype(float)
    cur_values = current.dropna().astype(float)
    ks_stat = ks_p = None
    if len(ref_values) and len(cur_values):
        result = ks_2samp(ref_values.to_numpy(), cur_values.to_numpy())
        ks_stat, ks_p = float(result.statistic), float(result.pvalue)
    return FeatureDrift(
        feature=name, kind="numeric", psi=psi(ref_shares, cur_shares) if len(cur_values) else 0.0,
        ks_statistic=ks_stat, ks_pvalue=ks_p,
        missing_reference=missing_rate(reference), missing_current=missing_rate(current),
        bins=_edge_labels(edges), reference=ref_shares, current=cur_shares,
    )


def _categorical(name: str, reference: pd.Series, current: pd.Series) -> FeatureDrift:
    ref = reference.dropna().astype(str)
    cur = current.dropna().astype(str)
    categories = sorted(set(ref.unique()) | set(cur.unique()))
    ref_shares = shares_categorical(reference, categories)
    cur_shares = shares_categorical(current, categories)
    return FeatureDrift(
        feature=name, kind="categorical", psi=psi(ref_shares, cur_shares) if len(cur) else 0.0,
        ks_statistic=None, ks_pvalue=None,
        missing_reference=missing_rate(reference), missing_current=missing_rate(current),
        bins=categories, reference=ref_shares, current=cur_shares,
    )


def _edge_labels(edges: np.ndarray) -> list[str]:
    def fmt(x: float) -> str:
        return "-inf" if x == float("-inf") else "inf" if x == float("inf") else f"{x:.4g}"

    return [f"[{fmt(lo)}, {fmt(hi)})" for lo, hi in itertools.pairwise(edges)]
