"""Background `mloop` processes for demo chapters: started as a user would start them, on a free
loopback port, waited for, and stopped when the demo ends (even when a chapter fails)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from mloop.demo import DemoContext
from mloop.errors import MloopError


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_mloop(ctx: DemoContext, args: list[str], *, log_name: str, port: int | None = None,
                root: Path | None = None, env: dict[str, str] | None = None, ready: str | None = None,
                timeout: float = 60.0) -> str:
    """Run `mloop ARGS --port PORT` for the workspace at `root` and return its base URL.

    Args:
        args: the command and its options, without `--port`.
        log_name: file under the workspace's `.mloop/` that receives the process output.
        ready: an HTTP path that answers 200 once the process is ready; a listening port otherwise.

    Raises:
        MloopError: the process exited or did not become ready in time (the hint names the log).
    """
    root = root or ctx.workspace.root
    port = port or free_port()
    log_path = root / ".mloop" / log_name
    log = open(log_path, "ab")  # noqa: SIM115 - closed by stop()
    proc = subprocess.Popen([sys.executable, "-m", "mloop", *args, "--port", str(port)], cwd=root,
                            env={**(env or os.environ), "MLOOP_WORKSPACE": str(root)},
                            stdout=log, stderr=subprocess.STDOUT)

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()

    ctx.cleanups.append(stop)
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: _ready(proc, port, url, ready), f"`mloop {args[0]}`", log_path, timeout)
    return url


def wait_for(check: object, what: str, log: Path | None = None, timeout: float = 60.0) -> None:
    """Poll `check()` until it is true (a readiness probe: the demo never sleeps blindly)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise MloopError(f"timed out after {timeout:.0f} s waiting for {what}", hint=f"see {log}" if log else None)


def _ready(proc: subprocess.Popen[bytes], port: int, url: str, path: str | None) -> bool:
    if proc.poll() is not None:
        raise MloopError(f"`{' '.join(map(str, proc.args[2:]))}` exited with {proc.returncode}",  # type: ignore[index]
                         hint="see its log under .mloop/")
    if path is None:
        with socket.socket() as sock:
            sock.settimeout(0.2)
            return sock.connect_ex(("127.0.0.1", port)) == 0
    import httpx

    try:
        return httpx.get(f"{url}{path}", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
