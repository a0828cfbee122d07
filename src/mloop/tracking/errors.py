"""Errors of the tracking adapter, and the one place MLflow's exceptions become mloop's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from mloop.errors import InvalidInput, MloopError, NotFound, StoreUnavailable


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


_CONNECT_WORDS = ("connection refused", "max retries exceeded", "failed to establish",
                  "name or service not known", "timed out", "connectionerror", "unable to open database")


def translate(exc: BaseException, uri: str) -> MloopError:
    """Map an exception raised by MLflow (or its HTTP client) to an `MloopError`."""
    text = f"{type(exc).__name__}: {exc}"
    first = text.strip().splitlines()[0][:300]
    if any(word in text.lower() for word in _CONNECT_WORDS):
        return TrackingUnavailable(f"cannot reach the MLflow tracking store {uri}: {first}")
    code = getattr(exc, "error_code", None)
    message = getattr(exc, "message", None) or str(exc)
    message = message.strip().splitlines()[0][:300] if message else first
    if code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"):
        return TrackingNotFound(
            message,
            hint=f"Check the id or name; the MLflow UI lists what exists (`mlflow ui --backend-store-uri {uri}`).",
        )
    if code in ("INVALID_PARAMETER_VALUE", "BAD_REQUEST", "INVALID_STATE"):
        return InvalidInput(f"MLflow rejected the request: {message}")
    return TrackingError(f"MLflow error ({code or type(exc).__name__}): {message}",
                         hint=f"Tracking store: {uri}. Re-run with --debug for the traceback.")


@contextmanager
def mlflow_errors(uri: str) -> Iterator[None]:
    """Translate MLflow and connection exceptions raised in the block; mloop's own pass through."""
    try:
        yield
    except MloopError:
        raise
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except Exception as exc:
        if _is_mlflow_or_network(exc):
            raise translate(exc, uri) from exc
        raise


def _is_mlflow_or_network(exc: BaseException) -> bool:
    module = type(exc).__module__ or ""
    return module.startswith(("mlflow", "requests", "urllib3", "sqlalchemy", "sqlite3")) or isinstance(
        exc, ConnectionError | TimeoutError
    )
