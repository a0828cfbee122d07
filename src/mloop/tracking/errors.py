"""Errors of the tracking adapter, and the one place MLflow's exceptions become mloop's."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any

from mloop.error_map import ExceptionTable, first_line, map_exceptions
from mloop.errors import InvalidInput, MloopError, NotFound, StoreUnavailable
from mloop.store.database import connection_failed


class TrackingUnavailable(StoreUnavailable):
    """The MLflow tracking store (server or database) cannot be reached."""

    code = "tracking_unavailable"
    hint = "Start the MLflow server or fix tracking_uri (`mloop config show`; MLOOP_TRACKING_URI)."


class TrackingError(MloopError):
    """MLflow refused an operation for a reason mloop does not map more precisely."""

    code = "tracking_error"
    http_status = 502


class TrackingNotFound(NotFound):
    """A run, experiment, model or model version does not exist in MLflow."""

    code = "tracking_not_found"


def _unreachable(exc: BaseException, c: Mapping[str, Any]) -> MloopError:
    return TrackingUnavailable(f"cannot reach the MLflow tracking store {c['uri']}: "
                               f"{type(exc).__name__}: {first_line(exc)}")


def _database_unreachable(exc: BaseException, c: Mapping[str, Any]) -> MloopError | None:
    return _unreachable(exc, c) if connection_failed(exc) else None


def _by_error_code(exc: BaseException, c: Mapping[str, Any]) -> MloopError:
    """By MLflow's `error_code` (data MLflow sets on every `MlflowException`, REST or local)."""
    code = getattr(exc, "error_code", None)
    message = first_line(exc) if str(exc).strip() else type(exc).__name__
    if code == "TEMPORARILY_UNAVAILABLE":
        return _unreachable(exc, c)
    if code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"):
        return TrackingNotFound(
            message,
            hint=f"Check the id or name; the MLflow UI lists what exists (`mlflow ui --backend-store-uri {c['uri']}`).",
        )
    if code in ("INVALID_PARAMETER_VALUE", "BAD_REQUEST", "INVALID_STATE"):
        return InvalidInput(f"MLflow rejected the request: {message}")
    return _other(exc, c)


def _other(exc: BaseException, c: Mapping[str, Any]) -> MloopError:
    code = getattr(exc, "error_code", None)
    return TrackingError(f"MLflow error ({code or type(exc).__name__}): {first_line(exc)}",
                         hint=f"Tracking store: {c['uri']}. Re-run with --debug for the traceback.")


# MLflow's REST client raises MlflowException while handling requests' ConnectionError (the
# table follows __context__ as well as __cause__), so the network rule comes first.
MLFLOW_ERRORS = ExceptionTable("mlflow", [
    (("requests.exceptions:ConnectionError", "requests.exceptions:Timeout",
      "urllib3.exceptions:MaxRetryError", "urllib3.exceptions:NewConnectionError",
      ConnectionError, TimeoutError), _unreachable),
    (("sqlalchemy.exc:OperationalError",), _database_unreachable),
    ("mlflow.exceptions:MlflowException", _by_error_code),
    (("requests.exceptions:RequestException", "urllib3.exceptions:HTTPError",
      "sqlalchemy.exc:SQLAlchemyError", "sqlite3:Error"), _other),
], follow_causes=True)


def translate(exc: BaseException, uri: str) -> MloopError:
    """Map an exception raised by MLflow (or its HTTP client) to an `MloopError`."""
    return MLFLOW_ERRORS.translate(exc, uri=uri) or _other(exc, {"uri": uri})


def mlflow_errors(uri: str) -> AbstractContextManager[None]:
    """Translate MLflow and connection exceptions raised in the block; mloop's own and any
    other exception pass through."""
    return map_exceptions(MLFLOW_ERRORS, uri=uri)
