"""A warm worker for lightweight KFP components: kfp imported once, one fork per task.

Starting Python and importing kfp costs ~0.5 s per task (what kfp.local's subprocess runner
pays). The server below is started once per mloop process with kfp already imported (and the
libraries of `PRELOADABLE` the components import: one server per such set, so a trivial task
forks from a lean process); every task is a `fork()` of it that runs KFP's own
`kfp.dsl.executor_main` with the executor input, its output going to the task's log file.
The child is a separate process of the user's environment, so a component that crashes,
leaks or calls `os._exit` harms nothing else.

Protocol (JSON lines): request `{"id", "argv", "cwd", "env", "log"}` or `{"kill": id}`;
response `{"id", "rc"}` when the task's process ends: written by the child itself as it exits
(no wait for the server to notice), and by the server when it reaps a child that died without
saying so (killed, crashed); the client takes the first and ignores the second.
"""

from __future__ import annotations

import functools
import json
import os
import select
import subprocess
import sys
import threading
from typing import Any


def _child(request: dict[str, Any]) -> None:
    reply = os.dup(1)  # the client's pipe: the child reports its own end, one hop less
    fd = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    code = 1
    try:
        os.chdir(request["cwd"])
        os.environ.update(request["env"])
        sys.argv = list(request["argv"])
        from kfp.dsl import executor_main

        executor_main.executor_main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 — the warm worker reports any failure of the task as its exit code
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            try:  # one line < PIPE_BUF: written atomically beside the server's replies
                os.write(reply, (json.dumps({"id": request["id"], "rc": code}) + "\n").encode())
            finally:
                os._exit(code)


# Libraries a server may import before forking, when the components it runs import them: they
# start no threads on import (a fork copies only the forking thread) and take 0.2-1 s to import.
PRELOADABLE = ("numpy", "pandas", "scipy", "sklearn", "joblib", "pyarrow")


_PARSE_LOCK = threading.Lock()


@functools.lru_cache(maxsize=256)
def preloads(source: str) -> tuple[str, ...]:
    """The PRELOADABLE libraries a component's source imports (parsed, never executed).

    A server forks faster the less it has imported (a fork and an exit copy and tear down the
    page tables: ~4 ms with kfp alone, ~9 ms with pandas), so a component that needs none of
    them runs from a lean server, one that needs pandas from a server that has it imported.
    Parsed under a lock: Python 3.11's AST constructor keeps its recursion depth per interpreter,
    so two steps parsing at once in threads failed with "AST constructor recursion depth mismatch"
    (CPython gh-106905; seen in the corpus test, four samples at a time).
    """
    import ast

    try:
        with _PARSE_LOCK:
            tree = ast.parse(source)
    except SyntaxError:
        return ()
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return tuple(name for name in PRELOADABLE if name in found)


def serve(preload: list[str] | None = None) -> None:
    """The server loop: fork a child per request, report each child's exit code."""
    import kfp.dsl.executor_main  # noqa: F401  (warm: imported once, inherited by every fork)

    for name in preload or ():  # what the components import: paid once, not per task
        try:
            __import__(name)
        except ImportError:  # the component's own import names it, in its log
            pass

    children: dict[int, int] = {}  # pid -> request id
    by_id: dict[int, int] = {}
    stdin = sys.stdin.fileno()
    buffer = b""
    while True:
        readable, _, _ = select.select([stdin], [], [], 0.05 if children else None)
        if readable:
            chunk = os.read(stdin, 1 << 20)
            if not chunk:
                break
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                request = json.loads(line)
                if "kill" in request:
                    pid = by_id.get(request["kill"])
                    if pid:
                        os.kill(pid, 9)
                    continue
                pid = os.fork()
                if pid == 0:
                    _child(request)
                children[pid], by_id[request["id"]] = request["id"], pid
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            rid = children.pop(pid)
            by_id.pop(rid, None)
            reply = json.dumps({"id": rid, "rc": os.waitstatus_to_exitcode(status)}) + "\n"
            os.write(1, reply.encode())
    for pid in children:
        os.kill(pid, 9)


class WarmPool:
    """The client side: one server process, many concurrent tasks (thread-safe)."""

    def __init__(self, preload: tuple[str, ...] = ()) -> None:
        self.preload = preload
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._next = 0
        self._waiting: dict[int, tuple[threading.Event, list[int]]] = {}

    def _start(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", "import sys; from mloop.pipelines.kfp_frontend.warm import serve; "
                 "serve(sys.argv[1:])", *self.preload],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True)
            threading.Thread(target=self._read, args=(self._proc,), daemon=True,
                             name="mloop-kfp-warm").start()
        return self._proc

    def warm_up(self) -> None:
        """Start the server now (it imports kfp while the caller prepares the run)."""
        with self._lock:
            self._start()

    def _read(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            reply = json.loads(line)
            with self._lock:
                event, box = self._waiting.pop(reply["id"], (None, []))
            if event is not None:
                box.append(int(reply["rc"]))
                event.set()
        with self._lock:  # the server died: every waiting task fails
            for event, box in self._waiting.values():
                box.append(-9)
                event.set()
            self._waiting.clear()

    def run(self, argv: list[str], cwd: str, env: dict[str, str], log: str,
            stop: threading.Event | None = None) -> int:
        """Run `kfp.dsl.executor_main` with `argv` in a fork; returns its exit code."""
        event, box = threading.Event(), []  # type: ignore[var-annotated]
        with self._lock:
            proc = self._start()
            self._next += 1
            rid = self._next
            self._waiting[rid] = (event, box)
            self._send(proc, {"id": rid, "argv": argv, "cwd": cwd, "env": env, "log": log})
        while not event.wait(0.2):
            if stop is not None and stop.is_set():
                with self._lock:
                    self._send(proc, {"kill": rid})
                event.wait(5)
                break
        return box[0] if box else -9

    @staticmethod
    def _send(proc: subprocess.Popen[bytes], message: dict[str, Any]) -> None:
        assert proc.stdin is not None
        proc.stdin.write((json.dumps(message) + "\n").encode())
        proc.stdin.flush()

    def close(self) -> None:
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                assert self._proc.stdin is not None
                self._proc.stdin.close()
                self._proc.wait(5)
            self._proc = None


_POOLS: dict[tuple[str, ...], WarmPool] = {}
_POOLS_LOCK = threading.Lock()


def pool(preload: tuple[str, ...] = ()) -> WarmPool:
    """The server (one per mloop process and set of preloaded libraries) for `preload`."""
    with _POOLS_LOCK:
        if preload not in _POOLS:
            _POOLS[preload] = WarmPool(preload)
        return _POOLS[preload]
