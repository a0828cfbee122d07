"""No planted text runs as script on any page (issue 18, item 1).

Payloads go in through every way text reaches a page: pipeline parameters, step errors and logs,
CSV column headers (they become metric names and error text), metric names, principals, approval
comments, alert texts, drift reports, release records, the URL, and the inference app's model name.
Every dashboard page is then opened in Chromium as an anonymous viewer and as a deployer, with the
page's CSP bypassed (so only escaping stands between a payload and a dialog), the graph panels
opened, and the inference app's page too. Each page must also carry a CSP without inline script.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd
import pytest

from mloop.pipelines import pipeline, step
from tests.e2e.conftest import mloop_server, write_tokens

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # one browser session over ~40 pages

P = ("</script><script>alert('script')</script>\"'><img src=x onerror=alert('img')>"
     "<svg onload=alert('svg')>\u2028{{7*7}}")

IN_PATH = "<img src=x onerror=alert('path')>"  # a URL path segment: no '/'


@step
def load_csv(path: str) -> pd.DataFrame:
    frame = pd.read_csv(path)
    print(f"columns: {list(frame.columns)}")  # the step's log quotes the header
    return frame


@step(kind="Training")
def fit(frame: pd.DataFrame, note: str, fail: bool) -> dict:
    from mloop.pipelines import current_context

    current_context().log_metrics({str(c): 0.5 for c in frame.columns})  # header -> metric names
    print(note)
    if fail:
        raise ValueError(f"unknown column {frame.columns[-1]}: {note}")
    return {"ok": 1}


@pipeline(name="xss-pipe")
def xss_pipe(path: str = "", note: str = "", fail: bool = False):  # type: ignore[no-untyped-def]
    fit(load_csv(path), note, fail)


def _plant(ws: Any, root: Path) -> dict[str, str]:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from mloop import alerts, registry, serving, tracking
    from mloop.pipelines import run_pipeline
    from mloop.tracking.wrappers import log_estimator

    csv = root / "data.csv"
    csv.write_text(f'a,"{P.replace(chr(34), chr(34) * 2)}"\n1,2\n3,4\n')
    good = run_pipeline(ws, xss_pipe, {"path": str(csv), "note": P, "fail": False}, tracking=False)
    bad = run_pipeline(ws, xss_pipe, {"path": str(csv), "note": P, "fail": True}, tracking=False)
    assert good.status == "Succeeded" and bad.status == "Failed"
    for seed in range(2):  # two different models: the registry keeps one version per set of files
        x = pd.DataFrame(np.random.default_rng(seed).normal(size=(40, 2)), columns=["a", "b"])
        model = LogisticRegression().fit(x, (x["a"] > 0).astype(int))
        with tracking.start_run(ws, experiment="xss") as run:
            uri = log_estimator(ws, run.run_id, model, input_example=x[:2])
        version = registry.register(ws, "xss-model", uri, run_id=run.run_id, metrics={P: 0.5, "auc": 0.7},
                                    metadata={"note": P}, principal=P).version
    registry.approve(ws, "xss-model", 1, principal="ana", comment=P)
    registry.reject(ws, "xss-model", version, principal="ana", comment=P)
    serving.deploy(ws, "xss-ep", "xss-model", version=1, principal=P)
    alerts.raise_alert(ws, source=P, severity="warning", title=P, detail={"note": P})
    (ws.state_dir / "monitoring").mkdir(exist_ok=True)
    (ws.state_dir / "monitoring" / "drift-1.json").write_text(json.dumps(
        {"endpoint": P, "drifted": True, "generated_at": "2026-01-01T00:00:00", "rows_current": 3}))
    _plant_release(ws)
    return {"good": good.id, "bad": bad.id}


def _plant_release(ws: Any) -> None:
    from sqlalchemy import update

    from mloop.release.records import insert_release
    from mloop.release.tables import release_stages

    with ws.db.begin() as conn:
        rid = insert_release(conn, {"endpoint": "xss-ep", "model": "xss-model", "pipeline": "xss-pipe",
                                    "params": {"note": P}, "options": {}, "commit": "abc", "branch": P,
                                    "created_by": P})
        conn.execute(update(release_stages).where(release_stages.c.release_id == rid)
                     .values(status="Failed", error=f"step 'fit' failed: ValueError: {P}", detail=None))


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from mloop.config import init_workspace
    from mloop.store import open_workspace

    root = tmp_path_factory.mktemp("xss") / "ws"
    init_workspace(root)
    write_tokens(root)
    ws = open_workspace(root)
    ids = _plant(ws, root)
    ws.close()
    (root / "ids.json").write_text(json.dumps(ids))
    yield root


@pytest.fixture(scope="module")
def inference_app(populated: Path) -> Iterator[str]:
    """`mloop app` whose page shows a planted model name (the endpoint never needs to answer)."""
    with mloop_server(["app", "--endpoint", "http://127.0.0.1:9", "--model", P, "--no-log"], populated) as url:
        yield url


def _pages(ids: dict[str, str]) -> list[str]:
    return ["/ui/pipelines", "/ui/pipelines/xss-pipe", f"/ui/pipelines/xss-pipe?run={ids['good']}",
            "/ui/runs", f"/ui/runs?compare={ids['good']}&compare={ids['bad']}", f"/ui/runs/{ids['bad']}",
            f"/ui/runs/{ids['good']}", "/ui/models", "/ui/models/xss-model", "/ui/endpoints",
            "/ui/endpoints/xss-ep", "/ui/releases", "/ui/monitoring", f"/ui/login?next={quote(P)}",
            f"/ui/models/{quote(IN_PATH)}", f"/ui/runs/{quote(IN_PATH)}",
            f"/ui/runs?pipeline={quote(P)}&status={quote(P)}"]


INJECTED = "document.querySelectorAll('img[src=\"x\"], svg[onload], [onerror], script:not([src]):not([type])').length"


def _visit(page: Any, url: str, dialogs: list[str]) -> None:
    response = page.goto(url)
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("style-src")[0], url
    assert page.evaluate(INJECTED) == 0, url
    for node in page.locator(".node[data-node]").all():  # the side panel builds HTML from JSON
        node.click()
        assert page.evaluate(INJECTED) == 0, url
    assert not dialogs, (url, dialogs)


def test_no_planted_text_runs_on_any_page(populated: Path, control_plane: str, inference_app: str,
                                          browser: Any) -> None:
    ids = json.loads((populated / "ids.json").read_text())
    context = browser.new_context(bypass_csp=True)  # only escaping may stop the payloads
    dialogs: list[str] = []
    page = context.new_page()
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        for path in _pages(ids):
            _visit(page, control_plane + path, dialogs)
        page.goto(f"{control_plane}/ui/runs/{ids['bad']}")
        assert "ValueError (details need a viewer token)" in page.content()  # anonymous: no step error text
        page.goto(f"{control_plane}/ui/login")
        page.fill("#token", "deployer-token-3333")
        with page.expect_navigation(url="**/ui/pipelines"):
            page.click("button[type=submit]")
        assert "dan · deployer" in page.locator(".who").inner_text()
        for path in _pages(ids):
            _visit(page, control_plane + path, dialogs)
        page.goto(f"{control_plane}/ui/runs/{ids['bad']}")
        assert "Clone with parameters" in page.content(), page.content()[-3000:]
        assert page.locator("#p-note").input_value() == P  # kept whole, as text
        assert P.split("\u2028")[0] in page.locator("#steps").inner_text()  # the full error, as text
        page.goto(f"{control_plane}/ui/pipelines/xss-pipe")
        page.click(".node[data-node=fit]")
        assert "onerror=alert('img')" in page.locator("#panel").inner_text()
        _visit(page, inference_app + "/", dialogs)
        page.click("#predict")  # the endpoint is unreachable: the error is shown as text
        page.locator("#error").wait_for()
        assert page.evaluate(INJECTED) == 0 and not dialogs
    finally:
        context.close()
