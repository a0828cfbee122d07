"""Monitoring: drift between the traffic an endpoint served and its model's training data.

`compare(reference, current, features, thresholds)` is the pure statistic; `drift_report(ws,
endpoint, window=...)` gathers both sides, writes the JSON + HTML report and raises an alert.
"""

from mloop.monitoring.drift import DriftReport, compare
from mloop.monitoring.report import drift_report, recent_interactions
from mloop.monitoring.stats import FeatureDrift, psi

__all__ = ["DriftReport", "FeatureDrift", "compare", "drift_report", "psi", "recent_interactions"]
