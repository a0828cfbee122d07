"""Clone and retry from the dashboard never read a caller's file or URL in the server (issue 18,
item 2): locations outside the workspace, the artifact store and `[pipelines] allowed_data_roots`
are a 400 before any run exists; allowed runs execute in a worker process that inherits none of
the server's environment; anonymous callers see a step's error code, not its text."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from mloop.pipelines import list_runs, pipeline, run_pipeline, step
from mloop.store import open_workspace
from mloop.web import create_app
from tests.support.dashboard import csrf_token

DEPLOYER = "tok-deployer-runs-1"
VIEWER = "tok-viewer-runs-2"
SECRET = "db-password-hunter2"
ROOT = Path(__file__).resolve().parents[3]


@step(name="load", cache=False)
def read_table(data_source: str) -> pd.DataFrame:
    return pd.read_csv(data_source)


@step(cache=False)  # each run looks at its own process
def inspect(frame: pd.DataFrame) -> dict:
    environ = Path("/proc/self/environ").read_bytes().decode(errors="replace")
    if "fail" in frame.columns:
        raise ValueError(f"bad row: {frame.iloc[0].to_dict()}")
    return {"rows": len(frame), "secret_in_environ": SECRET in environ, "secret_in_os": SECRET in str(os.environ)}


@pipeline(name="read-data")
def read_data(data_source: str = "data.csv"):  # type: ignore[no-untyped-def]
    inspect(read_table(data_source))


@pytest.fixture
def dashboard(workspace_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("DATABASE_PASSWORD", SECRET)  # the server's secret, as deployments hold them
    paths = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))  # the worker imports this module's pipeline
    (workspace_dir / "data.csv").write_text("a,b\n1,2\n3,4\n")
    (workspace_dir / "link.csv").symlink_to("/etc/os-release")
    tokens = {DEPLOYER: {"principal": "dee", "role": "deployer"}, VIEWER: {"principal": "vic", "role": "viewer"}}
    ws = open_workspace(workspace_dir, auth__tokens=tokens)
    original = run_pipeline(ws, read_data, {"data_source": str(workspace_dir / "data.csv")}, tracking=False)
    assert original.status == "Succeeded", original.error
    with TestClient(create_app(ws), raise_server_exceptions=False) as client:
        client.post("/ui/login", data={"token": DEPLOYER, "csrf": csrf_token(client.get("/ui/login").text)})
        yield client, ws, original
    ws.close()


def _clone(client: TestClient, run_id: str, source: str) -> Any:
    csrf = csrf_token(client.get(f"/ui/runs/{run_id}").text)
    return client.post(f"/ui/runs/{run_id}/action", follow_redirects=False,
                       data={"csrf": csrf, "action": "clone", "param:data_source": source})


@pytest.mark.parametrize("source", [
    "/etc/os-release", "/proc/self/environ", "http://169.254.169.254/latest/meta-data/",
    "file:///etc/os-release", "../../../../etc/os-release", "link.csv", "~/.ssh/id_rsa",
    "s3://someone-elses-bucket/x.csv",
])
def test_a_clone_naming_a_location_outside_the_workspace_is_refused(dashboard: Any, source: str) -> None:
    client, ws, original = dashboard
    answer = _clone(client, original.id, source)
    # was a 303 and the control plane read the file (or fetched the URL) itself
    assert answer.status_code == 400, answer.text[-500:]
    assert "names a location this server may not read" in answer.text
    assert "allowed_data_roots" in answer.text
    assert [r["id"] for r in list_runs(ws)] == [original.id]  # nothing started


@pytest.mark.slow  # a worker process starts Python and runs the pipeline
def test_an_allowed_clone_runs_in_a_worker_without_the_servers_environment(dashboard: Any, tmp_path: Path) -> None:
    from mloop.pipelines import get_run, load_artifact
    from tests.support.servers import wait_until

    client, ws, original = dashboard
    answer = _clone(client, original.id, "data.csv")  # relative: to the workspace, where the worker runs
    assert answer.status_code == 303, answer.text[-500:]
    new_id = answer.headers["location"].split("run=")[1]
    wait_until(lambda: get_run(ws, new_id).status not in ("Pending", "Executing"), timeout=60,
               what="the cloned run")
    run = get_run(ws, new_id)
    assert run.status == "Succeeded", run.error
    report = load_artifact(ws, new_id, "inspect")
    assert report == {"rows": 2, "secret_in_environ": False, "secret_in_os": False}
    assert run.params["data_source"] == "data.csv"


def test_allowed_data_roots_extend_where_runs_may_read(workspace_dir: Path, tmp_path: Path) -> None:
    from mloop.pipelines.locations import LocationNotAllowed, check_locations

    shared = tmp_path / "shared"
    shared.mkdir()
    (workspace_dir / "mloop.toml").write_text(
        (workspace_dir / "mloop.toml").read_text() + f'\n[pipelines]\nallowed_data_roots = ["{shared}", '
        '"https://data.example/public/"]\n')
    ws = open_workspace(workspace_dir)
    try:
        assert ws.settings.pipelines == {}  # an option of the table, not a pipeline
        for ok in (str(shared / "x.csv"), "https://data.example/public/x.csv", "synthetic:100",
                   "data/x.csv", str(ws.settings.artifact_root) + "/ab/cd", "ad-clicks"):
            check_locations(ws, {"data_source": ok, "n_estimators": 5})
        for bad in (str(tmp_path / "shared-other" / "x.csv"), "https://data.example/public/../private/x",
                    "https://data.example/publicity.csv", "ftp://data.example/public/x"):
            with pytest.raises(LocationNotAllowed):
                check_locations(ws, {"data_source": bad})
        with pytest.raises(LocationNotAllowed):  # a location by its value, whatever the name
            check_locations(ws, {"training_set": "/etc/passwd"})
    finally:
        ws.close()


def test_anonymous_callers_see_a_step_errors_code_not_its_text(workspace_dir: Path) -> None:
    (workspace_dir / "bad.csv").write_text("fail,ssn\n1,123-45-6789\n")
    ws = open_workspace(workspace_dir, auth__tokens={VIEWER: {"principal": "vic", "role": "viewer"}})
    failed = run_pipeline(ws, read_data, {"data_source": str(workspace_dir / "bad.csv")}, tracking=False)
    assert failed.status == "Failed" and "123-45-6789" in (failed.error or "")
    with TestClient(create_app(ws), raise_server_exceptions=False) as client:
        anonymous = client.get("/lineage?pipeline=read-data").json()
        node = next(n for n in anonymous["graph"]["nodes"] if n["id"] == "inspect")
        assert node["run"]["error"] == "ValueError (details need a viewer token)"
        assert anonymous["execution"]["error"] == "step 'inspect' failed: ValueError (details need a viewer token)"
        page = client.get(f"/ui/runs/{failed.id}").text + client.get("/ui/pipelines/read-data").text
        assert "123-45-6789" not in page and "ValueError (details need a viewer token)" in page
        viewer = client.get("/lineage?pipeline=read-data", headers={"Authorization": f"Bearer {VIEWER}"}).json()
        assert "123-45-6789" in viewer["execution"]["error"]
    ws.close()
