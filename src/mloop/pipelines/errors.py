"""Errors of the pipelines package."""

from __future__ import annotations

from mloop.errors import InvalidInput, MloopError, NotFound


class PipelineDefinitionError(InvalidInput):
    """The pipeline is wired wrongly; raised while building it, before anything runs."""

    code = "pipeline_definition_error"


class PipelineNotFound(NotFound):
    """No pipeline of that name or `module:function` reference is known."""

    code = "pipeline_not_found"


class RunNotFound(NotFound):
    code = "run_not_found"
    hint = "List runs with `mloop runs list`."


class StepFailed(MloopError):
    """A step raised, timed out or was killed; the run is Failed."""

    code = "step_failed"
    http_status = 500


class RunStopped(MloopError):
    """The run was stopped (`mloop runs stop`) before it finished."""

    code = "run_stopped"
    http_status = 409
