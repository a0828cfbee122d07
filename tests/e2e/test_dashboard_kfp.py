"""A KFP loop step's inner tasks in the dashboard: the side panel lists each with its status and
a link to its row on the run page (names with `/` and `[i]`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import screenshot, write_tokens

pytestmark = pytest.mark.browser
MODULE = "tests.unit.pipelines.kfp_frontend.kfp_example"


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mloop.config import init_workspace
    from mloop.pipelines import run_pipeline
    from mloop.store import open_workspace

    tmp = tmp_path_factory.mktemp("dash-kfp")
    workspace_dir = tmp / "ws"
    init_workspace(workspace_dir)
    write_tokens(workspace_dir)
    ws = open_workspace(workspace_dir)
    params = {"log_path": str(tmp / "executions"), "fix_path": str(tmp / "not-fixed")}
    assert run_pipeline(ws, f"{MODULE}:loop_retry", params, tracking=False).status == "Failed"
    ws.close()
    return workspace_dir


def test_the_loop_steps_panel_lists_its_tasks_with_links_to_their_rows(control_plane: str, page: Any) -> None:
    page.goto(f"{control_plane}/ui/pipelines/kfp-loop-retry")
    loop = page.eval_on_selector_all(".node", "els => els.map(e => e.dataset.node)")
    loop = next(name for name in loop if name.startswith("for-loop"))
    page.click(f".node[data-node='{loop}']")
    panel = page.locator("#panel")
    rows = dict(page.eval_on_selector_all("#panel tr[data-task]",
                                          "els => els.map(e => [e.dataset.task, e.children[1].textContent])"))
    assert rows == {f"{loop}[0]/work": "Succeeded", f"{loop}[1]/work": "Failed",
                    f"{loop}[2]/work": "Succeeded"}, rows
    failed = panel.locator(f"tr[data-task='{loop}[1]/work']").inner_text()
    assert "details need a viewer token" in failed and "exit code" not in failed  # a guest's view
    screenshot(page, "pipeline-kfp-loop-tasks")
    with page.expect_navigation():
        page.click(f"#panel a:text-is('{loop}[1]/work')")
    assert "/ui/runs/" in page.url
    row = page.locator(f"[id='step-{loop}[1]/work']")
    assert row.is_visible() and "Failed" in row.inner_text()
    # the steps table under the graph lists the tasks under their step too
    page.go_back()
    assert page.locator("table.grid tr.task").count() == 3
