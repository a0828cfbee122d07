"""The endpoint page shows the running experiment: rates per variant and the interval over time."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from mloop import experiments
from mloop.store import open_workspace
from mloop.web import create_app
from tests.support.experiments import ENDPOINT, app_groups, traffic

VIEWER_TOKEN = "tok-viewer-91ac"


def _login(client: TestClient) -> None:
    page = client.get("/ui/login").text
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert csrf
    assert client.post("/ui/login", data={"token": VIEWER_TOKEN, "csrf": csrf.group(1)},
                       follow_redirects=False).status_code == 303


def test_the_endpoint_page_is_a_look_at_the_running_experiment(workspace_dir: Path) -> None:
    from mloop.serving.endpoints import Variant, apply_change

    ws = open_workspace(workspace_dir, auth__tokens={VIEWER_TOKEN: {"principal": "vee", "role": "viewer"}})
    hostile = "<img src=x onerror=alert(1)>"
    variants = [Variant("production", hostile, 1, "models:/x/1", 50), Variant("canary", hostile, 2, "models:/x/2", 50)]
    apply_change(ws, ENDPOINT, lambda _: (variants, "deploy", {}), create=True)
    store = app_groups(ws)
    exp = experiments.start(ws, ENDPOINT, ["production", "canary"], min_samples=100)
    try:
        with TestClient(create_app(ws), raise_server_exceptions=False) as client:
            _login(client)
            for seed in range(3):
                traffic(store, {"production": 0.10, "canary": 0.11}, 300, seed=seed)
                html = client.get(f"/ui/endpoints/{ENDPOINT}").text
            assert f"Experiment {exp.id}" in html and "running" in html
            rows = re.findall(r'<tr data-variant="(\w+)"><td>\w+</td><td>[^<]*</td><td>(\d+)</td>', html)
            assert rows == [("production", "900"), ("canary", "900")]
            assert html.count("<polyline") == 3  # the effect, and the rate of each variant
            assert '<svg id="experiment-interval"' in html and '<svg id="experiment-rates"' in html
            assert hostile not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
            assert "counted as no click" in html
        assert len(experiments.looks(ws, exp.id)) == 3  # each page view with new outcomes was a look
    finally:
        ws.close()
