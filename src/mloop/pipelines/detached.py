"""Runs a server starts (the dashboard's clone and retry) execute in a process of their own.

The process starts with a bare environment: none of the server's variables (database passwords,
cloud keys, tokens) is in its environment block, so a step that reads `/proc/self/environ` finds
nothing. The settings the run needs arrive on stdin as the server's effective settings (minus
`[auth]`), and the run is recorded under the principal who asked for it. `start` returns once
the run record exists, so the browser can open its page at once; the run then goes on alone.

    python -m mloop.pipelines.detached   # reads its job as JSON on stdin
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from typing import TYPE_CHECKING, Any

from mloop.errors import MloopError
from mloop.pipelines.executor import clone_run, retry_run
from mloop.store import open_workspace

if TYPE_CHECKING:
    from mloop.store import Workspace

# Variables a Python process needs to start and find its packages; nothing else is inherited.
KEEP_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV")
# Credentials libraries read from the environment (S3, MLflow): handed over on stdin, not inherited.
CREDENTIAL_PREFIXES = ("AWS_", "MLFLOW_TRACKING_", "GOOGLE_APPLICATION_CREDENTIALS", "AZURE_STORAGE_")


class RunNotStarted(MloopError):
    """A detached run's worker process did not start (or died before recording the run)."""

    code = "run_not_started"
    http_status = 500


def start(ws: Workspace, action: str, run_id: str, new_run_id: str, *, principal: str,
          params: dict[str, Any] | None = None) -> None:
    """Start `action` ("clone" or "retry") of `run_id` as run `new_run_id` in a new process.

    Returns once the run record exists.

    Raises:
        MloopError: what the worker raised before the run was created (re-raised with its code).
        RunNotStarted: the worker died without saying why (its log is under .mloop/workers/).
    """
    logs = ws.state_dir / "workers"
    logs.mkdir(parents=True, exist_ok=True)
    read_fd, write_fd = os.pipe()
    settings = ws.settings.model_dump(mode="json", exclude={"auth"})
    job = {"root": str(ws.root), "action": action, "run_id": run_id, "new_run_id": new_run_id,
           "params": params or {}, "settings": {**settings, "principal": principal},
           "env": {k: v for k, v in os.environ.items() if k.startswith(CREDENTIAL_PREFIXES)},
           "ready_fd": write_fd}
    env = {k: os.environ[k] for k in KEEP_ENV if k in os.environ}
    with open(logs / f"{new_run_id}.log", "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "mloop.pipelines.detached"], stdin=subprocess.PIPE,
                                stdout=log, stderr=log, env=env, cwd=ws.root, pass_fds=(write_fd,))
    os.close(write_fd)
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(job).encode())
    proc.stdin.close()
    threading.Thread(target=proc.wait, daemon=True, name=f"mloop-reap-{new_run_id}").start()
    with os.fdopen(read_fd, "rb") as ready:
        answer = ready.readline()  # EOF when the worker exits without a word
    if answer.strip() == b"started":
        return
    _raise_reported(answer, logs / f"{new_run_id}.log")


def _raise_reported(answer: bytes, log: Any) -> None:
    try:
        reported = json.loads(answer)
    except ValueError:
        raise RunNotStarted("the run's worker process exited before the run started",
                            hint=f"See {log}.") from None
    error = MloopError(reported.get("message", "the run did not start"), hint=reported.get("hint"))
    error.code = str(reported.get("code", MloopError.code))
    error.http_status = int(reported.get("status", 500))
    raise error


def main() -> int:
    """The worker: read the job, open the workspace, run; say "started" once the record exists."""
    job = json.loads(sys.stdin.read())
    ready = os.fdopen(int(job["ready_fd"]), "wb")
    os.environ.update(job["env"])  # not in /proc/self/environ: that shows the environment at exec

    def on_event(_step: str, status: str, _details: dict[str, Any]) -> None:
        if status == "run" and not ready.closed:
            ready.write(b"started\n")
            ready.close()

    try:
        ws = open_workspace(job["root"], **job["settings"])
        if job["action"] == "retry":
            retry_run(ws, job["run_id"], new_run_id=job["new_run_id"], on_event=on_event)
        else:
            clone_run(ws, job["run_id"], job["params"], new_run_id=job["new_run_id"], on_event=on_event)
    except MloopError as exc:
        if ready.closed:
            raise
        body = {"code": exc.code, "message": exc.message, "hint": exc.hint, "status": exc.http_status}
        ready.write(json.dumps(body).encode() + b"\n")
        return 1
    finally:
        if not ready.closed:
            ready.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
