"""What a running step sees (`current_context()`), and per-step capture of its output.

Steps of one run execute in threads of one process, so `sys.stdout`/`sys.stderr` are replaced
once by a router that sends each thread's writes to the buffer of the step it runs (and
everything else to the real stream); a logging handler does the same for log records.
"""

from __future__ import annotations

import contextvars
import io
import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from mloop import tracking
from mloop.auth import act_as
from mloop.errors import MloopError

if TYPE_CHECKING:
    from mloop.store import Workspace

_CONTEXT: contextvars.ContextVar[StepContext | None] = contextvars.ContextVar(
    "mloop_step_context", default=None
)


@dataclass
class StepContext:
    """The run a step belongs to, its parameters, and where its metrics go."""

    workspace: Workspace
    run_id: str
    step_name: str
    params: dict[str, Any]
    kind: str = "Processing"
    attempt: int = 1
    mlflow_run_id: str | None = None
    mlflow_experiment: str | None = None  # of the pipeline run's MLflow parent run, when open
    metrics: dict[str, float] = field(default_factory=dict)
    logged_params: dict[str, Any] = field(default_factory=dict)
    model_uri: str | None = None
    principal: str | None = None  # who started the run; the step acts for them

    @property
    def logger(self) -> logging.Logger:
        return logging.getLogger(f"mloop.step.{self.step_name}")

    def log_metrics(self, metrics: dict[str, Any]) -> None:
        """Record metrics on the step run (and its MLflow run, through the tracking hook)."""
        for key, value in metrics.items():
            self.metrics[str(key)] = float(value)

    def log_params(self, params: dict[str, Any]) -> None:
        self.logged_params.update({str(k): v for k, v in params.items()})

    def log_model(self, **kwargs: Any) -> str:
        """Log a model to this step's MLflow run (`mloop.tracking.log_model` arguments).

        Returns:
            The model URI, also recorded on the step run.
        """
        if self.mlflow_run_id is None:
            raise MloopError(
                f"step '{self.step_name}' has no MLflow run",
                hint="Declare it @step(kind='Training') and run with tracking enabled.",
            )
        self.model_uri = tracking.log_model(self.workspace, self.mlflow_run_id, **kwargs)
        return self.model_uri


def current_context() -> StepContext:
    """The context of the step running in this thread.

    Raises:
        MloopError: called outside a running step.
    """
    ctx = _CONTEXT.get()
    if ctx is None:
        raise MloopError("current_context() is only available inside a running step",
                         hint="Run the step through `mloop run` or run_pipeline().")
    return ctx


@contextmanager
def activate(ctx: StepContext) -> Iterator[None]:
    token = _CONTEXT.set(ctx)
    try:
        with act_as(ctx.principal) if ctx.principal else nullcontext():
            yield
    finally:
        _CONTEXT.reset(token)


class _Router(io.TextIOBase):
    def __init__(self, real: TextIO) -> None:
        self.real = real

    def write(self, text: str) -> int:
        buf = _BUFFERS.get(threading.get_ident())
        return buf.write(text) if buf is not None else self.real.write(text)

    def flush(self) -> None:
        if threading.get_ident() not in _BUFFERS:
            self.real.flush()

    def isatty(self) -> bool:
        return False if threading.get_ident() in _BUFFERS else self.real.isatty()

    def fileno(self) -> int:
        return self.real.fileno()


class _Handler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        buf = _BUFFERS.get(threading.get_ident())
        if buf is not None:
            buf.write(self.format(record) + "\n")


_BUFFERS: dict[int, io.StringIO] = {}
_INSTALL_LOCK = threading.Lock()
_installed = False


def _install() -> None:
    # Re-checked each time: test runners and notebooks swap sys.stdout after we wrapped it.
    global _installed
    with _INSTALL_LOCK:
        if not isinstance(sys.stdout, _Router):
            sys.stdout = _Router(sys.stdout)  # type: ignore[assignment]
        if not isinstance(sys.stderr, _Router):
            sys.stderr = _Router(sys.stderr)  # type: ignore[assignment]
        if _installed:
            return
        handler = _Handler(level=logging.INFO)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger().addHandler(handler)
        logging.getLogger("mloop.step").setLevel(logging.INFO)
        _installed = True


@contextmanager
def capture() -> Iterator[io.StringIO]:
    """Collect what this thread prints and logs while the block runs."""
    _install()
    buf = io.StringIO()
    ident = threading.get_ident()
    _BUFFERS[ident] = buf
    try:
        yield buf
    finally:
        _BUFFERS.pop(ident, None)
