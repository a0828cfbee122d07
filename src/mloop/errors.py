"""The error hierarchy: every failure a user can cause is an `MloopError`.

Each subclass carries a stable `code` (for machines), an `http_status` (for the HTTP APIs) and a
`hint` that names the next command or the valid choices (for people). The CLI prints
`message` + `hint` without a traceback; the HTTP apps map the error to `{code, message, hint}`.
Third-party exceptions are translated where mloop calls the library (`raise ... from exc`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any


class MloopError(Exception):
    """Root of every error mloop raises on purpose."""

    code: str = "mloop_error"
    http_status: int = 500
    hint: str | None = None

    def __init__(self, message: str, hint: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """The JSON body HTTP APIs return and `--json` prints."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.hint:
            body["hint"] = self.hint
        return body


class ConfigError(MloopError):
    """A setting is unknown, malformed or out of range."""

    code = "config_error"
    http_status = 500


class WorkspaceNotFound(MloopError):
    """The command needs a workspace and none was found."""

    code = "workspace_not_found"
    http_status = 500
    hint = "Run `mloop init` in your project directory, or set MLOOP_WORKSPACE."


class StoreUnavailable(MloopError):
    """The metadata database or artifact store cannot be reached."""

    code = "store_unavailable"
    http_status = 503


class StoreAccessDenied(StoreUnavailable):
    """A store (artifact folder or bucket, database, tracking server) refused mloop's credentials.

    Not a caller's role (that is `PermissionDenied`): the fix is a permission on the store, which
    the message names along with the operation and the path or bucket.
    """

    code = "store_access_denied"


class NotFound(MloopError):
    """A named thing (artifact, group, model, run, endpoint...) does not exist."""

    code = "not_found"
    http_status = 404


class ArtifactNotFound(NotFound):
    """No artifact with that digest in the artifact store (deleted, or another workspace's)."""

    code = "artifact_not_found"


class InvalidInput(MloopError):
    """The caller sent something malformed: bad rows, bad parameters, bad payloads."""

    code = "invalid_input"
    http_status = 400


class Conflict(MloopError):
    """The request contradicts the current state (already exists, already approved...)."""

    code = "conflict"
    http_status = 409


class PermissionDenied(MloopError):
    """The principal may not do this (role, four-eyes rule, missing token)."""

    code = "permission_denied"
    http_status = 403


class Unauthenticated(MloopError):
    code = "unauthenticated"
    http_status = 401
    hint = "Send `Authorization: Bearer <token>` with a token from `mloop auth tokens create`."


class IntegrityError(MloopError):
    """Stored data does not match its digest or record."""

    code = "integrity_error"
    http_status = 500


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A hint fragment naming the closest valid choice and all choices."""
    options = sorted(set(choices))
    close = difflib.get_close_matches(word, options, n=1)
    known = ", ".join(options) if options else "(none)"
    return (f"did you mean '{close[0]}'? " if close else "") + f"known: {known}"
