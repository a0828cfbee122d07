"""Errors of the experiments package: each with a code, an HTTP status and a hint."""

from __future__ import annotations

from mloop.errors import Conflict, InvalidInput, NotFound


class ExperimentNotFound(NotFound):
    code = "experiment_not_found"
    hint = "List them with `mloop experiments list`."


class InvalidExperiment(InvalidInput):
    """An experiment that could not answer its question (one variant, unknown metric, no feedback)."""

    code = "invalid_experiment"


class ExperimentConflict(Conflict):
    """The endpoint already has a running experiment, or the experiment already ended."""

    code = "experiment_conflict"
