"""Browser tests: a real control plane on 127.0.0.1 and the system's Chromium driven by Playwright.

Screenshots of each page are written to test-artifacts/screenshots/ (kept by CI as artifacts).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.cli import clean_env
from tests.support.servers import free_port, port_open, wait_until

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
TOKENS = {
    "viewer-token-1111": ("vera", "viewer"),
    "approver-token-2222": ("ana", "approver"),
    "deployer-token-3333": ("dan", "deployer"),
    "admin-token-4444": ("ada", "admin"),
}


def write_tokens(root: Path, anonymous_read: bool = True) -> None:
    lines = ["[auth]", f"anonymous_read = {'true' if anonymous_read else 'false'}", "[auth.tokens]"]
    lines += [f'{tok} = {{ principal = "{who}", role = "{role}" }}' for tok, (who, role) in TOKENS.items()]
    config = root / "mloop.toml"
    config.write_text(config.read_text() + "\n" + "\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def control_plane(populated: Path) -> Iterator[str]:
    """`mloop server` on a free port for the module's `populated` workspace; yields its base URL."""
    extra = {"MLOOP_PRINCIPAL": "tester",
             "PYTHONPATH": str(Path(__file__).resolve().parents[2])}  # test pipelines are importable
    with mloop_server(["server"], populated, extra) as url:
        yield url


@contextmanager
def mloop_server(args: list[str], cwd: Path, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """`mloop ARGS --port PORT` on a free port in `cwd`, without the caller's MLOOP_* settings;
    yields its base URL once it listens and stops it afterwards."""
    port = free_port()
    env = clean_env() | (extra_env or {})
    proc = subprocess.Popen([sys.executable, "-m", "mloop", *args, "--port", str(port)],
                            cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: port_open(port) or proc.poll() is not None, timeout=60, what=f"mloop {args[0]}")
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Chromium for one test module. Playwright's sync API keeps an event loop running in the main
    thread while it is open, so it must close before other modules' tests call `asyncio.run`."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.fail("chromium is not installed: apt-get install -y chromium (make test does this)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium, headless=True, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield b
        b.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
    p = context.new_page()
    yield p
    context.close()


def screenshot(page: object, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]
