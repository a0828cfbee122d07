"""The release state machine with injected stage implementations (the real ones are tested in
tests/integration/release): ordering, outputs, failure, rejection, resume, refusal, the lock."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from mloop.errors import ConfigError, Conflict, InvalidInput
from mloop.release import StageContext, get_release, resume_release, start_release
from mloop.release.errors import ReleaseRefused, StageFailed, StageRejected
from mloop.release.records import STAGES
from tests.support.release_repo import fake_stages, git


def test_happy_path_records_every_stage(release_ws: Any, repo: Path) -> None:
    calls: Counter[str] = Counter()
    seen: list[str] = []
    release = start_release(release_ws, stages=fake_stages(calls), on_change=lambda r: seen.append(r.status))
    assert release.status == "Succeeded" and release.finished_at is not None
    assert [s.status for s in release.stages] == ["Succeeded"] * 5
    assert all(s.started_at and s.finished_at and s.finished_at >= s.started_at for s in release.stages)
    assert release.commit == git(repo, "rev-parse", "HEAD").strip()
    assert release.model_version == 7 and release.outputs("Deploy")["version"] == 7
    assert "lock_acquired_at" in release.outputs("Deploy")
    assert release.driver is None and calls == Counter({name: 1 for name in STAGES})
    assert seen[-1] == "Succeeded"


def test_failure_and_rejection_end_the_release(release_ws: Any) -> None:
    def boom(ctx: StageContext) -> None:
        raise StageFailed("smoke invocation failed", hint="look at the server log")

    failed = start_release(release_ws, stages=fake_stages(Counter(), Verify=boom))
    assert failed.status == "Failed" and failed.stage == "Verify"
    assert "smoke invocation failed" in (failed.message or "")
    assert failed.stage_record("Verify").status == "Failed"

    def no(ctx: StageContext) -> None:
        raise StageRejected("ctr-model v7 was rejected by bob: too slow")

    rejected = start_release(release_ws, stages=fake_stages(Counter(), Approval=no))
    assert rejected.status == "Rejected"
    assert [s.status for s in rejected.stages] == ["Succeeded", "Succeeded", "Rejected", "Pending", "Pending"]


def test_unexpected_exception_fails_visibly(release_ws: Any) -> None:
    def bug(ctx: StageContext) -> None:
        raise ZeroDivisionError("division by zero")

    release = start_release(release_ws, stages=fake_stages(Counter(), Deploy=bug))
    assert release.status == "Failed" and "ZeroDivisionError" in (release.message or "")


def test_interrupted_release_resumes_without_redoing_finished_stages(release_ws: Any) -> None:
    calls: Counter[str] = Counter()

    def interrupted(ctx: StageContext) -> None:
        calls["Approval"] += 1
        ctx.progress("waiting for approval", waited=True)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        start_release(release_ws, stages=fake_stages(calls, Approval=interrupted))
    [release] = _releases(release_ws)
    assert release.status == "Executing" and release.driver is None and release.stage == "Approval"
    assert release.stage_record("Approval").outputs == {"waited": True}

    done = resume_release(release_ws, release.id, stages=fake_stages(calls))
    assert done.status == "Succeeded"
    assert calls == Counter(Source=1, TrainRegister=1, Approval=2, Deploy=1, Verify=1)
    assert done.stage_record("Approval").attempts == 2
    assert done.stage_record("TrainRegister").attempts == 1
    with pytest.raises(Conflict, match="already finished"):
        resume_release(release_ws, release.id, stages=fake_stages(calls))


def test_a_release_waiting_for_approval_refuses_a_second_start(release_ws: Any) -> None:
    waiting, go = threading.Event(), threading.Event()

    def approval(ctx: StageContext) -> dict[str, Any]:
        ctx.progress("waiting for approval of ctr-model v7")
        waiting.set()
        go.wait(10)
        return {"status": "Approved"}

    result: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: result.setdefault(
        "r", start_release(release_ws, stages=fake_stages(Counter(), Approval=approval))))
    thread.start()
    assert waiting.wait(10)
    with pytest.raises(ReleaseRefused, match="waiting for approval") as info:
        start_release(release_ws, stages=fake_stages(Counter()))
    assert "mloop release approve" in (info.value.hint or "")
    go.set()
    thread.join(10)
    assert result["r"].status == "Succeeded"
    assert start_release(release_ws, stages=fake_stages(Counter())).status == "Succeeded"


def test_user_mistakes_are_clear(release_ws: Any, repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / "train.py").write_text("print('changed')\n")
    with pytest.raises(InvalidInput, match=r"uncommitted changes.*train\.py") as dirty:
        start_release(release_ws, stages=fake_stages(Counter()))
    assert "--allow-dirty" in (dirty.value.hint or "")
    allowed = start_release(release_ws, allow_dirty=True, stages=fake_stages(Counter()))
    assert allowed.status == "Succeeded" and allowed.options["source"]["dirty"] is True

    first = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "add", "train.py")
    git(repo, "commit", "-q", "-m", "train")
    with pytest.raises(InvalidInput, match="is not checked out"):
        start_release(release_ws, commit=first)
    with pytest.raises(InvalidInput, match="does not exist"):
        start_release(release_ws, commit="0badc0de")
    monkeypatch.setenv("MLOOP_RELEASE__ENDPOINT", "")
    from mloop.store import open_workspace

    with pytest.raises(ConfigError, match="no endpoint configured") as none:
        start_release(open_workspace(repo), stages=fake_stages(Counter()))
    assert "[release]" in (none.value.hint or "")


def _releases(ws: Any) -> list[Any]:
    from mloop.release import list_releases

    return list_releases(ws.db)


def test_get_release_unknown_is_not_found(release_ws: Any) -> None:
    from mloop.errors import NotFound

    with pytest.raises(NotFound, match="release 999"):
        get_release(release_ws.db, 999)


def test_deciding_a_finished_or_untrained_release_is_a_conflict(release_ws: Any) -> None:
    from mloop.release import approve_release, reject_release

    done = start_release(release_ws, stages=fake_stages(Counter()))
    with pytest.raises(Conflict, match=f"release {done.id} already finished \\(Succeeded\\)"):
        approve_release(release_ws, done.id, comment="late")

    def stop(ctx: StageContext) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        start_release(release_ws, stages=fake_stages(Counter(), TrainRegister=stop))
    pending = _releases(release_ws)[0]
    with pytest.raises(Conflict, match="has not registered a model version yet"):
        reject_release(release_ws, pending.id, comment="no")


def test_watch_gives_up_on_a_release_nobody_drives(release_ws: Any) -> None:
    from mloop.release import create_release, watch_release

    orphan = create_release(release_ws)  # recorded, never driven
    seen: list[str] = []
    back = watch_release(release_ws, orphan.id, lambda r: seen.append(r.status), poll=0.05, orphan_grace=0.2)
    assert not back.finished and seen == ["Pending"]


def test_no_decision_within_the_approval_timeout_fails_the_release(repo: Path, tmp_path: Path) -> None:
    from mloop import registry
    from mloop.release.stages import approval
    from mloop.store import open_workspace
    from tests.support.serving import publish, train

    (repo / "mloop.toml").write_text((repo / "mloop.toml").read_text() + "approval_timeout = 0.3\n")
    ws = open_workspace(repo)
    try:
        pending = publish(ws, "ctr-model", train(n_estimators=3), tmp_path, approve=False)

        def registered(ctx: StageContext) -> dict[str, Any]:
            return {"run_id": "run-1", "model_version": pending.version}

        release = start_release(ws, allow_dirty=True, stages=fake_stages(
            Counter(), TrainRegister=registered, Approval=approval))
        assert release.status == "Failed" and release.stage == "Approval"
        assert f"no decision on ctr-model v{pending.version} within the approval timeout (0.3 s)" in (
            release.message or "")
        assert registry.get_version(ws, "ctr-model", pending.version).status == registry.PENDING
    finally:
        ws.close()
