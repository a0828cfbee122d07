"""Experiments: A/B tests of an endpoint's variants on logged feedback, decided by an
always-valid sequential test (mSPRT) that may be looked at any time, with automatic promotion.

Library entry points take the workspace first; `evaluate` is a look (what `show`, the dashboard,
the inference app and `mloop experiments watch` call).
"""

from mloop.experiments.errors import ExperimentConflict, ExperimentNotFound, InvalidExperiment
from mloop.experiments.evaluate import evaluate, evaluate_running, looks
from mloop.experiments.outcomes import RULE, Counts
from mloop.experiments.records import METRICS, Experiment, get_experiment, list_experiments, start, stop

__all__ = [
    "METRICS", "RULE", "Counts", "Experiment", "ExperimentConflict", "ExperimentNotFound",
    "InvalidExperiment", "evaluate", "evaluate_running", "get_experiment", "list_experiments", "looks",
    "start", "stop",
]
