"""The dashboard in headless Chromium against a real control plane and a real workspace."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mloop.pipelines import Else, If, pipeline, step
from tests.e2e.conftest import screenshot, write_tokens
from tests.support.servers import wait_until

pytestmark = pytest.mark.browser


@step
def load(n: int) -> dict:
    return {"rows": n}


@step(kind="Training")
def train(data: dict) -> dict:
    from mloop.pipelines import current_context

    current_context().log_metrics({"auc": 0.81, "logloss": 0.45})
    return {"auc": 0.81}


@step(kind="RegisterModel")
def register(report: dict) -> str:
    return "registered"


@step(kind="Alert")
def alert(report: dict) -> str:
    return "alerted"


@pipeline(name="tiny-ctr")
def tiny(n: int = 10, auc_threshold: float = 0.7):  # type: ignore[no-untyped-def]
    report = train(load(n))
    with If(report["auc"] >= auc_threshold):
        register(report)
    with Else():
        alert(report)


def _pending_version(ws: Any, name: str = "ctr", seed: int = 0) -> int:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from mloop import registry, tracking
    from mloop.tracking.wrappers import log_estimator

    x = pd.DataFrame(np.random.default_rng(seed).normal(size=(60, 2)), columns=["a", "b"])
    model = LogisticRegression().fit(x, (x["a"] > 0).astype(int))
    with tracking.start_run(ws, experiment="e2e") as run:
        uri = log_estimator(ws, run.run_id, model, input_example=x[:2])
    return registry.register(ws, name, uri, run_id=run.run_id, metrics={"auc": 0.81},
                             principal="trainer").version


def _served_endpoint(ws: Any) -> None:
    """Endpoint `ctr-live`: v1 in production (80%), v2 as a canary (20%)."""
    from mloop import registry, serving

    for seed in range(2):  # two different models: the registry keeps one version per set of files
        version = _pending_version(ws, "ctr-live", seed)
        registry.approve(ws, "ctr-live", version, principal="ana", comment="ok")
    serving.deploy(ws, "ctr-live", "ctr-live", version=1)
    serving.deploy(ws, "ctr-live", "ctr-live", version=2, variant="canary", weight=20)


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One workspace for the module (tests run in file order; the approval comes last)."""
    from mloop.config import init_workspace
    from mloop.pipelines import run_pipeline
    from mloop.store import open_workspace

    workspace_dir = tmp_path_factory.mktemp("dash") / "ws"
    init_workspace(workspace_dir)
    write_tokens(workspace_dir)
    ws = open_workspace(workspace_dir)
    assert run_pipeline(ws, tiny, {"n": 7, "auc_threshold": 0.9}).status == "Succeeded"  # gate fails
    assert run_pipeline(ws, tiny, {"n": 5}).status == "Succeeded"  # the latest run: gate passes
    _pending_version(ws)
    _served_endpoint(ws)
    ws.close()
    return workspace_dir


def _login(page: Any, base: str, token: str, next_path: str = "/ui/pipelines", ok: bool = True) -> None:
    page.goto(f"{base}/ui/login?next={next_path}")
    page.fill("#token", token)
    if not ok:
        page.click("button[type=submit]")
        return
    with page.expect_navigation(url=f"**{next_path}"):  # the redirect has landed before we look
        page.click("button[type=submit]")


def test_pipeline_graph_colours_nodes_by_status_and_opens_the_side_panel(control_plane: str,
                                                                          page: Any) -> None:
    page.goto(f"{control_plane}/ui/pipelines")
    page.click("text=tiny-ctr")
    statuses = page.eval_on_selector_all(".node", "els => els.map(e => [e.dataset.node, e.dataset.status])")
    statuses = dict(statuses)
    conditions = [name for name in statuses if name.startswith("condition")]
    assert len(conditions) == 1 and statuses.pop(conditions[0]) == "Succeeded"
    assert statuses == {"load": "Succeeded", "train": "Succeeded", "register": "Succeeded", "alert": "Skipped"}
    ok = page.eval_on_selector(".node[data-node=train] rect", "e => getComputedStyle(e).stroke")
    skipped = page.eval_on_selector(".node[data-node=alert] rect", "e => getComputedStyle(e).stroke")
    assert ok == "rgb(27, 127, 59)" and skipped == "rgb(122, 122, 122)"
    vias = page.eval_on_selector_all("path.edge", "els => els.map(e => e.dataset.via)")
    assert "ref:Get" in vias and "condition" in vias
    assert sorted(page.locator(".edgelabel").all_text_contents()) == ["else", "if true"]
    page.click(".node[data-node=train]")
    panel = page.locator("#panel")
    assert panel.is_visible()
    text = panel.inner_text()
    assert "auc" in text and "0.81" in text and "Training" in text and "Succeeded" in text
    screenshot(page, "pipeline-graph")
    page.keyboard.press("Escape")
    assert not panel.is_visible()
    page.focus(".node[data-node=load]")
    page.keyboard.press("Enter")  # keyboard-usable
    assert "load" in panel.inner_text()


def test_a_deployer_changes_endpoint_weights_and_sees_them_applied(control_plane: str, page: Any) -> None:
    page.goto(f"{control_plane}/ui/endpoints/ctr-live")
    assert page.locator("input[name='weight:production']").is_disabled()  # anonymous viewer
    _login(page, control_plane, "deployer-token-3333", "/ui/endpoints/ctr-live")
    assert page.locator(".bar").inner_text().split() == ["canary", "20%", "production", "80%"] or \
        "production 80%" in page.locator(".bar").inner_text()
    page.fill("input[name='weight:production']", "50")
    page.fill("input[name='weight:canary']", "50")
    page.click("button[value=weights]")
    page.wait_for_url("**/ui/endpoints/ctr-live?done=weights")
    assert page.locator("input[name='weight:production']").input_value() == "50"
    assert "set-weights" in page.locator("#history").inner_text()
    screenshot(page, "endpoint-weights")
    page.fill("input[name='weight:production']", "70")
    page.click("button[value=weights]")  # 70 + 50 != 100: refused, nothing changed
    assert "100" in page.locator(".flash.error").inner_text()
    page.goto(f"{control_plane}/ui/endpoints/ctr-live")
    assert page.locator("input[name='weight:production']").input_value() == "50"


def test_runs_compare_side_by_side_and_clone_with_an_edited_parameter(control_plane: str, page: Any) -> None:
    page.goto(f"{control_plane}/ui/runs?pipeline=tiny-ctr")
    boxes = page.locator("#runs input[name=compare]")
    assert boxes.count() == 2
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.click("#compare-form button[type=submit]")
    table = page.locator("#comparison").inner_text()
    assert "param auc_threshold" in table and "0.9" in table and "train.auc" in table
    screenshot(page, "runs-compare")
    _login(page, control_plane, "deployer-token-3333", "/ui/runs")
    page.locator("#runs tbody tr a").first.click()
    page.fill("#p-n", "11")
    page.click("button[value=clone]")
    page.wait_for_url("**/ui/pipelines/tiny-ctr?run=*")
    new_run = page.url.split("run=")[1]
    wait_until(lambda: "✓ Succeeded</span></h1>" in page.request.get(f"{control_plane}/ui/runs/{new_run}").text(),
               timeout=60, what="the cloned run to succeed")
    page.goto(f"{control_plane}/ui/runs?pipeline=tiny-ctr")
    assert page.locator("#runs tbody tr").count() == 3
    assert "clone of" in page.locator(f"#runs tr[data-run='{new_run}']").inner_text()


def test_approving_without_a_comment_is_refused_with_the_reason(control_plane: str,
                                                                 page: Any) -> None:
    _login(page, control_plane, "approver-token-2222", "/ui/models")
    card = page.locator("[data-version='ctr:1']")
    card.locator("input[name=comment]").evaluate("e => e.removeAttribute('required')")
    card.locator("button[value=approve]").click()
    assert "comment" in page.locator(".flash.error").inner_text().lower()
    assert page.locator("[data-version='ctr:1']").is_visible()  # still pending


def test_a_viewer_cannot_approve(control_plane: str, page: Any) -> None:
    _login(page, control_plane, "viewer-token-1111", "/ui/models")
    button = page.locator("[data-version='ctr:1'] button[value=approve]")
    assert button.is_disabled()
    screenshot(page, "models-as-viewer")
    csrf = page.locator("[data-version='ctr:1'] input[name=csrf]").input_value()
    response = page.request.post(f"{control_plane}/ui/models/ctr/1/decision",
                                 form={"decision": "approve", "comment": "sneaky", "csrf": csrf})
    assert response.status == 403
    assert "approver" in response.text()
    page.goto(f"{control_plane}/ui/models/ctr")
    assert "sneaky" not in page.locator("#audit").inner_text()


def test_a_wrong_token_does_not_log_in_and_forms_need_csrf(control_plane: str,
                                                           page: Any) -> None:
    _login(page, control_plane, "not-a-token", ok=False)
    assert "not valid" in page.locator(".flash").inner_text()
    response = page.request.post(f"{control_plane}/ui/models/ctr/1/decision",
                                 form={"decision": "approve", "comment": "x"})
    assert response.status == 403 and "CSRF" in response.text()


def test_an_approver_approves_a_pending_version_and_sees_the_audit_entry(control_plane: str,
                                                                          page: Any) -> None:
    _login(page, control_plane, "approver-token-2222", "/ui/models")
    card = page.locator("[data-version='ctr:1']")
    assert card.is_visible()
    card.locator("input[name=comment]").fill("AUC 0.81 beats the gate")
    card.locator("button[value=approve]").click()
    page.wait_for_url("**/ui/models/ctr?done=approved")
    audit = page.locator("#audit").inner_text()
    assert "Approved" in audit and "ana" in audit and "AUC 0.81 beats the gate" in audit
    screenshot(page, "model-approved")


def test_every_page_renders_at_desktop_and_narrow_widths(control_plane: str, page: Any) -> None:
    for path in ("/ui/pipelines", "/ui/runs", "/ui/models", "/ui/endpoints", "/ui/releases", "/ui/monitoring",
                 "/ui/pipelines/housing"):
        response = page.goto(f"{control_plane}{path}")
        assert response.status == 200, path
        assert page.locator("header nav a[aria-current=page]").count() == 1
        screenshot(page, path.strip("/").replace("/", "-"))
    page.goto(f"{control_plane}/ui/pipelines/housing")  # declared, never ran
    assert set(page.eval_on_selector_all(".node", "els => els.map(e => e.dataset.status)")) == {"NotStarted"}
    page.set_viewport_size({"width": 420, "height": 800})
    page.goto(f"{control_plane}/ui/models")
    assert page.evaluate("document.documentElement.scrollWidth") <= 440
    screenshot(page, "models-narrow")
    page.goto(f"{control_plane}/ui/pipelines/no-such-pipeline")
    assert "not found" in page.locator("h1").inner_text()
