"""Errors of releases: a stage that fails, a rejection, a lost or idle driver."""

from __future__ import annotations

from mloop.errors import Conflict, MloopError


class StageFailed(MloopError):
    """A stage could not do its job; the release ends Failed with this message."""

    code = "release_stage_failed"
    http_status = 409


class StageRejected(MloopError):
    """The model version was rejected; the release ends Rejected."""

    code = "release_rejected"
    http_status = 409


class DriverLost(Conflict):
    """Another process took the release over (this one was presumed dead)."""

    code = "release_driver_lost"


class DriverIdle(MloopError):
    """A background driver stopped waiting (its idle bound passed, or its workspace is gone);
    the release stays where it was and `mloop release approve` or `resume` drives it on."""

    code = "release_driver_idle"
    http_status = 409


class ReleaseRefused(Conflict):
    """A release cannot start now (another one waits for approval on the same endpoint)."""

    code = "release_refused"


class ReleaseInFlight(ReleaseRefused):
    """A triggered release (retraining on drift) is refused: one of the same model is unfinished."""

    code = "release_in_flight"  # `details["release_id"]` names the unfinished release
