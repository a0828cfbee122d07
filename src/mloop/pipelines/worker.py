"""Executing one step: load inputs, call the function, store outputs; retries, timeouts, isolation.

In-thread attempts share the interpreter (~no overhead). `isolation="process"` forks a child
per attempt (the parent already imported everything, so it costs milliseconds, not an
interpreter start); the child writes its outputs to the artifact store and reports digests back
through a pipe, so a crash, a kill or a timeout never leaves a half-recorded step.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mloop.errors import MloopError, StoreUnavailable
from mloop.pipelines import graph as g
from mloop.pipelines.catalog import import_ref
from mloop.pipelines.conditions import evaluate
from mloop.pipelines.context import StepContext, activate, capture
from mloop.pipelines.errors import StepFailed
from mloop.pipelines.materializers import ArtifactInfo, load_output, save_output
from mloop.pipelines.stepdef import FUNCTIONS

if TYPE_CHECKING:
    from collections.abc import Callable

    from mloop.store import Workspace

LOG_TAIL = 200_000  # characters of log kept in the database; the full log is an artifact


@dataclass
class StepJob:
    """Everything one step needs: its node, resolved values and input artifacts, its context."""

    node: g.Node
    values: dict[str, Any]
    inputs: dict[str, tuple[ArtifactInfo, list[Any]]]
    ctx: StepContext


@dataclass
class Outcome:
    status: str
    attempts: int = 0
    outputs: dict[str, ArtifactInfo] = field(default_factory=dict)
    result: Any = None
    logs: str = ""
    message: str | None = None
    error: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    logged_params: dict[str, Any] = field(default_factory=dict)
    model_uri: str | None = None


def resolve_function(ref: str) -> Callable[..., Any]:
    """The function behind a node: registered by @step in this process, else imported."""
    func = FUNCTIONS.get(ref)
    if func is None:
        if "<locals>" in ref:
            raise StepFailed(f"step function {ref} is defined inside a function",
                             hint="Define steps at module level so other processes can import them.")
        func = import_ref(ref, "step")
        func = getattr(func, "func", func)  # a StepDef
    return func


def one_line(exc: BaseException) -> str:
    """The error as a step's message; a store's refusal keeps its hint (the fix is the point)."""
    if isinstance(exc, StoreUnavailable) and exc.hint:
        return f"{exc.message}. {exc.hint}"
    if isinstance(exc, MloopError):
        return exc.message
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")


def strip_ansi(text: str) -> str:
    """Logs are stored as plain text: libraries (MLflow's warnings) colour their output for a
    terminal, and the escape codes would show up raw in `mloop runs logs` and the dashboard."""
    return _ANSI.sub("", text) if "\x1b" in text else text


def split_outputs(node: g.Node, result: Any) -> dict[str, Any]:
    names = list(node.outputs)
    if not names:
        return {}
    if len(names) == 1:
        return {names[0]: result}
    if not isinstance(result, tuple) or len(result) != len(names):
        raise StepFailed(f"step '{node.name}' must return {len(names)} values ({', '.join(names)}), "
                         f"got {type(result).__name__}")
    return dict(zip(names, result, strict=True))


def run_attempt(ws: Workspace, job: StepJob) -> tuple[dict[str, ArtifactInfo], Any]:
    """Load inputs, call the step, store its outputs."""
    kwargs = dict(job.values)
    for arg, (info, path) in job.inputs.items():
        value = load_output(ws, info)
        for key in path:
            try:
                value = value[key]
            except (KeyError, IndexError, TypeError) as exc:
                raise StepFailed(f"input '{arg}' of step '{job.node.name}' has no item {key!r}") from exc
        kwargs[arg] = value
    if job.node.kind == g.CONDITION:
        result: Any = evaluate(kwargs.get("left"), kwargs.get("right"), op=job.node.options["op"])
    else:
        result = resolve_function(job.node.func)(**kwargs)
    outputs = {name: save_output(ws, obj) for name, obj in split_outputs(job.node, result).items()}
    return outputs, result


def _attempt_thread(ws: Workspace, job: StepJob, timeout: float | None) -> Outcome:
    box: dict[str, Any] = {}

    def body() -> None:
        with capture() as buf, activate(job.ctx):
            try:
                box["outputs"], box["result"] = run_attempt(ws, job)
            except BaseException as exc:  # noqa: BLE001 — user code may raise anything: it becomes the attempt's error
                box["message"], box["error"] = one_line(exc), traceback.format_exc()
        box["logs"] = buf.getvalue()

    if timeout is None:
        body()
    else:
        thread = threading.Thread(target=body, daemon=True, name=f"step-{job.node.name}")
        thread.start()
        thread.join(timeout)
        if thread.is_alive():  # a thread cannot be killed: abandon it; nothing of it is recorded
            return Outcome(g.FAILED, message=f"timed out after {timeout:g} s",
                           logs=box.get("logs", ""))
    if "outputs" in box:
        return Outcome(g.SUCCEEDED, outputs=box["outputs"], result=box["result"], logs=box["logs"])
    return Outcome(g.FAILED, message=box.get("message"), error=box.get("error"),
                   logs=box.get("logs", ""))


def _child(ws: Workspace, job: StepJob, conn: Any, log_path: str) -> None:
    import logging

    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    if "db" in ws.__dict__:  # never reuse the parent's pooled connections
        ws.db.engine.dispose(close=False)
    try:
        with activate(job.ctx):
            outputs, result = run_attempt(ws, job)
        keep = result if job.node.kind == g.CONDITION else None  # only conditions need the value
        message: dict[str, Any] = {"ok": True, "outputs": outputs, "result": keep}
    except BaseException as exc:  # noqa: BLE001 — user code may raise anything: it becomes the step's error message
        message = {"ok": False, "message": one_line(exc), "error": traceback.format_exc()}
    message.update(metrics=job.ctx.metrics, params=job.ctx.logged_params,
                   model_uri=job.ctx.model_uri)
    try:
        conn.send(message)
    except Exception as exc:  # noqa: BLE001 — an unpicklable result must still answer the parent
        conn.send({"ok": False, "message": f"cannot return the result: {exc}", "error": None})
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _attempt_process(
    ws: Workspace, job: StepJob, timeout: float | None, stop: threading.Event
) -> Outcome:
    import multiprocessing
    import tempfile

    mp = multiprocessing.get_context("fork")
    receiver, sender = mp.Pipe(duplex=False)
    logs_dir = ws.state_dir / "logs"
    logs_dir.mkdir(exist_ok=True)
    fd, log_path = tempfile.mkstemp(dir=logs_dir, prefix=f"{job.node.name}-", suffix=".log")
    os.close(fd)
    proc = mp.Process(target=_child, args=(ws, job, sender, log_path), daemon=True)
    proc.start()
    sender.close()
    deadline = time.monotonic() + timeout if timeout else None
    message: dict[str, Any] | None = None
    reason = None
    while message is None:
        if receiver.poll(0.02):
            try:
                message = receiver.recv()
            except EOFError:
                break
        elif not proc.is_alive() and not receiver.poll(0):
            break
        elif stop.is_set():
            reason = "stopped"
        elif deadline and time.monotonic() > deadline:
            reason = f"timed out after {timeout:g} s (process killed)"
        if reason:
            proc.kill()
            break
    proc.join()
    logs = Path(log_path).read_text(encoding="utf-8", errors="replace")
    Path(log_path).unlink(missing_ok=True)
    if reason == "stopped":
        return Outcome(g.STOPPED, message="stopped", logs=logs)
    if message is None:
        code = proc.exitcode or 0
        why = reason or (f"killed by signal {signal.Signals(-code).name}" if code < 0
                         else f"the step process exited with code {code}")
        return Outcome(g.FAILED, message=why, logs=logs)
    job.ctx.metrics.update(message.get("metrics") or {})
    job.ctx.logged_params.update(message.get("params") or {})
    job.ctx.model_uri = message.get("model_uri") or job.ctx.model_uri
    if message["ok"]:
        return Outcome(g.SUCCEEDED, outputs=message["outputs"], result=message["result"], logs=logs)
    return Outcome(g.FAILED, message=message["message"], error=message["error"], logs=logs)


def execute(ws: Workspace, job: StepJob, stop: threading.Event) -> Outcome:
    """Run a step with its retries (exponential backoff), timeout and isolation."""
    options = job.node.options
    retries, delay = int(options.get("retries", 0)), float(options.get("retry_delay", 1.0))
    timeout = options.get("timeout")
    logs: list[str] = []
    outcome = Outcome(g.FAILED)
    for attempt in range(1, retries + 2):
        if stop.is_set():
            return Outcome(g.STOPPED, attempts=attempt - 1, message="stopped", logs="".join(logs))
        job.ctx.attempt = attempt
        if attempt > 1:
            logs.append(f"--- attempt {attempt} ---\n")
        if options.get("isolation") == "process":
            outcome = _attempt_process(ws, job, timeout, stop)
        else:
            outcome = _attempt_thread(ws, job, timeout)
        logs.append(outcome.logs)
        if outcome.status != g.FAILED or attempt > retries:
            break
        wait = delay * 2 ** (attempt - 1)
        logs.append(f"attempt {attempt} failed: {outcome.message}; retrying in {wait:g} s\n")
        if stop.wait(wait):
            outcome = Outcome(g.STOPPED, message="stopped")
            break
    outcome.attempts = job.ctx.attempt
    outcome.logs = strip_ansi("".join(logs))
    outcome.metrics = dict(job.ctx.metrics)
    outcome.logged_params = dict(job.ctx.logged_params)
    outcome.model_uri = job.ctx.model_uri
    return outcome
