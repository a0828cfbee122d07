"""Releases end to end: a real git repository, the local executor, the registry, a real model
server (`mloop serve` on a free port) and the real CLI in subprocesses. The scenarios share one
project and server and run in order: happy path, rejection, failed verify (rolled back), a
`kill -9` during training and again during approval then resume, two concurrent releases."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from mloop.release.project_template import SOURCE, VERIFY_RECORD
from tests.support.cli import clean_env
from tests.support.servers import free_port, port_open, wait_until

pytestmark = pytest.mark.slow
MLOOP = [sys.executable, "-m", "mloop"]


@dataclass
class Project:
    root: Path
    env: dict[str, str]
    url: str

    def mloop(self, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([*MLOOP, *args], cwd=self.root, env={**self.env, **env},
                                capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError(f"mloop {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
        return result

    def json(self, *args: str, **env: str) -> Any:
        return json.loads(self.mloop(*args, "--json", **env).stdout)

    def git(self, *args: str) -> str:
        return subprocess.run(["git", *args], cwd=self.root, env=self.env, check=True,
                              capture_output=True, text=True).stdout.strip()

    def release(self, release_id: int) -> Any:
        from mloop.release import get_release
        from mloop.store import open_workspace

        ws = open_workspace(self.root)
        try:
            return get_release(ws.db, release_id)
        finally:
            ws.close()

    def wait_for_approval(self, release_id: int) -> Any:
        wait_until(lambda: self.release(release_id).stage_record("Approval").status == "Executing",
                   timeout=60, what=f"release {release_id} waiting for approval")
        return self.release(release_id)

    def decide(self, verb: str, release_id: int, comment: str, principal: str = "dev") -> None:
        """Approve or reject in-process (the CLI path is covered by test_happy_path)."""
        from mloop.release import approve_release, reject_release
        from mloop.store import open_workspace

        ws = open_workspace(self.root)
        try:
            act = approve_release if verb == "approve" else reject_release
            act(ws, release_id, principal=principal, comment=comment)
        finally:
            ws.close()

    def wait_finished(self, release_id: int, timeout: float = 90) -> Any:
        wait_until(lambda: self.release(release_id).finished, timeout=timeout,
                   what=f"release {release_id} to finish")
        return self.release(release_id)

    def served_version(self) -> str | None:
        resp = httpx.post(f"{self.url}/invocations", json={"instances": [VERIFY_RECORD]}, timeout=5)
        return resp.headers.get("x-mloop-model-version") if resp.status_code == 200 else None


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    from mloop.config import init_workspace

    root = tmp_path_factory.mktemp("release") / "ctr-project"
    init_workspace(root)
    port = free_port()
    record = ", ".join(f"{k} = {json.dumps(v)}" for k, v in VERIFY_RECORD.items())
    (root / "ctr_project.py").write_text(SOURCE)
    (root / ".gitignore").write_text("__pycache__/\n")
    (root / "mloop.toml").write_text(f"""
[pipelines]
ctr = "ctr_project:ctr"

[release]
pipeline = "ctr"
model = "ctr-model"
endpoint = "ctr"
parameters = {{ rows = 300, n_estimators = 10 }}
poll_interval = 0.1
verify_url = "http://127.0.0.1:{port}"
verify_payload = [{{ {record} }}]
""")
    env = clean_env()
    env.update(PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}", MLOOP_PRINCIPAL="dev",
               GIT_AUTHOR_NAME="Dev", GIT_AUTHOR_EMAIL="dev@example.com", GIT_COMMITTER_NAME="Dev",
               GIT_COMMITTER_EMAIL="dev@example.com", MLFLOW_ENABLE_ASYNC_LOGGING="false")
    proj = Project(root, env, f"http://127.0.0.1:{port}")
    proj.git("init", "-q", "-b", "main")
    proj.git("add", "-A")
    proj.git("commit", "-q", "-m", "ctr project")
    server = subprocess.Popen([*MLOOP, "serve", "ctr", "--port", str(port), "--poll-interval", "0.2"],
                              cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: port_open(port), timeout=60, what="mloop serve")
        yield proj
    finally:
        server.terminate()
        server.wait(10)


def _change_param(project: Project, key: str, value: int, message: str) -> None:
    toml = project.root / "mloop.toml"
    text = toml.read_text()
    start = text.index("parameters = {")
    end = text.index("}", start) + 1
    params = dict(item.split(" = ") for item in text[start + 14:end - 1].strip().split(", "))
    params[key] = str(value)
    toml.write_text(text[:start] + "parameters = { " + ", ".join(f"{k} = {v}" for k, v in params.items())
                    + " }" + text[end:])
    project.git("commit", "-q", "-am", message)


def test_happy_path(project: Project) -> None:
    started = project.json("release", "start", "--detach")
    rid = started["id"]
    waiting = project.wait_for_approval(rid)
    assert [s.status for s in waiting.stages[:2]] == ["Succeeded", "Succeeded"]
    assert waiting.outputs("Source")["commit"] == project.git("rev-parse", "HEAD")
    assert waiting.outputs("Source")["pipeline_hash"] and waiting.outputs("Source")["dirty"] is False
    # a second release of the same endpoint is refused while this one waits
    refused = project.mloop("release", "start", check=False)
    assert refused.returncode == 1 and f"release {rid} for endpoint 'ctr' is waiting for approval" in refused.stderr
    assert f"mloop release approve {rid}" in refused.stderr and "Traceback" not in refused.stderr
    # approving needs a comment (registry policy), then works; the release continues by itself
    no_comment = project.mloop("release", "approve", str(rid), check=False)
    assert no_comment.returncode == 1 and "comment is required" in no_comment.stderr
    project.mloop("release", "approve", str(rid), "-m", "AUC fine", MLOOP_PRINCIPAL="ann")
    done = json.loads(project.mloop("release", "status", str(rid), "--watch", "--json").stdout)
    assert done["status"] == "Succeeded", done
    version = done["model_version"]
    assert done["stages"][2]["outputs"]["approved_by"] == "ann"
    checks = done["stages"][4]["outputs"]["checks"]
    assert {c["protocol"] for c in checks} == {"sagemaker", "kserve-v1", "open-inference-v2"}
    assert all(c["version"] == str(version) and c["status"] == 200 for c in checks)
    assert project.served_version() == str(version)
    # approving a finished release is a clear message
    again = project.mloop("release", "approve", str(rid), "-m", "again", check=False)
    assert again.returncode == 1 and "already finished (Succeeded)" in again.stderr


def test_an_idle_background_driver_exits_and_approval_drives_the_release_on(project: Project) -> None:
    """A detached driver waiting for a human does not linger: it exits after release.driver_idle_s,
    the release keeps waiting, and approving it starts a new driver that finishes it."""
    import psutil

    _change_param(project, "n_estimators", 11, "idle driver")
    rid = project.json("release", "start", "--detach", MLOOP_RELEASE__DRIVER_IDLE_S="1")["id"]
    waiting = project.wait_for_approval(rid)
    if waiting.driver:  # it may have let go already
        pid = int(waiting.driver.rsplit(":", 1)[1])
        try:
            psutil.Process(pid).wait(timeout=60)  # psutil.TimeoutExpired if it lingers
        except psutil.NoSuchProcess:
            pass
    wait_until(lambda: not project.release(rid).driven, timeout=60, what="the idle driver to let go")
    idle = project.release(rid)
    assert not idle.finished and idle.stage_record("Approval").status == "Executing"
    assert idle.outputs("Approval")["driver_idle_at"]
    assert f"`mloop release approve {rid}` drives it on" in (idle.stage_record("Approval").detail or "")
    project.mloop("release", "approve", str(rid), "-m", "fine")
    assert project.wait_finished(rid).status == "Succeeded"


def test_rejection_ends_the_release_and_keeps_the_endpoint(project: Project) -> None:
    before = project.served_version()
    _change_param(project, "n_estimators", 12, "more trees")
    rid = project.json("release", "start", "--detach")["id"]
    project.wait_for_approval(rid)
    project.decide("reject", rid, "not better")
    done = project.wait_finished(rid)
    assert done.status == "Rejected" and "rejected by dev: not better" in (done.message or "")
    assert [s.status for s in done.stages][2:] == ["Rejected", "Pending", "Pending"]
    assert project.served_version() == before


def test_failed_verify_of_a_canary_rolls_the_endpoint_back(project: Project) -> None:
    from mloop.serving import get_endpoint
    from mloop.store import open_workspace

    before = project.served_version()
    _change_param(project, "n_estimators", 14, "even more trees")
    bad = json.dumps([{**VERIFY_RECORD, "age": "thirty"}])
    rid = project.json("release", "start", "--detach", MLOOP_RELEASE__VERIFY_PAYLOAD=bad,
                       MLOOP_RELEASE__CANARY_WEIGHT="20")["id"]
    project.wait_for_approval(rid)
    project.decide("approve", rid, "ok")
    done = project.wait_finished(rid)
    assert done.status == "Failed" and done.stage == "Verify"
    assert done.outputs("Deploy")["variant"] == "canary" and done.outputs("Deploy")["weight"] == 20
    assert "answered 400" in (done.message or "") and "rolled endpoint 'ctr' back" in (done.message or "")
    ws = open_workspace(project.root)
    variants = get_endpoint(ws, "ctr").variants
    ws.close()
    assert [(v.name, str(v.model_version), v.weight) for v in variants] == [("production", before, 100)]
    wait_until(lambda: project.served_version() == before, timeout=10, what="rolled back version")


def test_kill_9_during_training_and_approval_then_resume(project: Project) -> None:
    from mloop.pipelines import get_run
    from mloop.store import open_workspace

    _change_param(project, "n_estimators", 16, "sixteen trees")
    ws = open_workspace(project.root)
    versions_before = _count_versions(ws)
    driver = subprocess.Popen([*MLOOP, "release", "start"], cwd=project.root, env=project.env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rid = _newest_id(project)

    def training() -> bool:
        run_id = project.release(rid).outputs("TrainRegister").get("run_id")
        return bool(run_id) and get_run(ws, run_id).status == "Executing"

    wait_until(training, timeout=60, what="pipeline run executing")
    driver.send_signal(signal.SIGKILL)
    driver.wait(10)
    crashed = project.release(rid)
    first_run = crashed.outputs("TrainRegister")["run_id"]
    assert crashed.status == "Executing" and not crashed.driven
    status = project.mloop("release", "status", str(rid))
    assert f"mloop release resume {rid}" in status.stdout

    driver = subprocess.Popen([*MLOOP, "release", "resume", str(rid)], cwd=project.root, env=project.env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    waiting = project.wait_for_approval(rid)
    assert waiting.outputs("TrainRegister")["retried_run_id"] == first_run
    assert get_run(ws, first_run).status == "Stopped"
    driver.send_signal(signal.SIGKILL)
    driver.wait(10)

    project.decide("approve", rid, "ok")
    done = project.json("release", "resume", str(rid))
    assert done["status"] == "Succeeded"
    attempts = {s["name"]: s["attempts"] for s in done["stages"]}
    assert attempts == {"Source": 1, "TrainRegister": 2, "Approval": 2, "Deploy": 1, "Verify": 1}
    assert _count_versions(ws) == versions_before + 1  # registered once
    assert project.served_version() == str(done["model_version"])
    ws.close()


def test_two_concurrent_releases_never_deploy_at_once(project: Project) -> None:
    from mloop.release import create_release
    from mloop.store import open_workspace

    _change_param(project, "n_estimators", 18, "eighteen trees")
    ws = open_workspace(project.root)
    ids = [create_release(ws).id, create_release(ws).id]
    ws.close()
    drivers = [subprocess.Popen([*MLOOP, "release", "resume", str(i)], cwd=project.root, env=project.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in ids]
    try:
        for rid in ids:
            project.wait_for_approval(rid)
        versions = [project.release(rid).model_version for rid in ids]
        project.decide("approve", ids[0], "ship it")
        if versions[1] != versions[0]:
            project.decide("approve", ids[1], "ship it")
        # else the same source trained the same files: the registry's one version, approved once,
        # releases both (seed 000: a version points at exactly one artifact)
        for proc in drivers:
            assert proc.wait(90) == 0
    finally:  # a failed wait must not leave drivers polling for approval forever
        for proc in drivers:
            if proc.poll() is None:
                proc.kill()
    done = sorted((project.release(i) for i in ids), key=lambda r: r.outputs("Deploy")["lock_acquired_at"])
    assert [r.status for r in done] == ["Succeeded", "Succeeded"]
    first_verified = done[0].stage_record("Verify").finished_at
    second_locked = done[1].outputs("Deploy")["lock_acquired_at"]
    assert datetime.fromisoformat(second_locked) >= first_verified
    assert project.served_version() == str(done[1].model_version)


def _newest_id(project: Project) -> int:
    from mloop.release import list_releases
    from mloop.store import open_workspace

    ws = open_workspace(project.root)

    def created() -> bool:
        found = list_releases(ws.db, limit=1)
        return bool(found) and not found[0].finished  # every earlier release has finished

    try:
        wait_until(created, timeout=30, what="release created")
        return list_releases(ws.db, limit=1)[0].id
    finally:
        ws.close()


def _count_versions(ws: Any) -> int:
    from mloop import registry

    try:
        return len(registry.versions(ws, "ctr-model"))
    except registry.ModelNotFound:
        return 0
