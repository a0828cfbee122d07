"""Endpoint records on every metadata backend: deploy, weights, promote, rollback, history."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from mloop import registry, serving
from mloop.errors import InvalidInput
from mloop.serving.errors import EndpointNotFound, InvalidWeights, NotApproved, NothingToRollBack


@pytest.fixture(scope="module")
def mlflow_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One MLflow store for the module: creating one costs seconds, model names are unique."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


@pytest.fixture
def ws(database_url: str, tmp_path: Path, mlflow_db: str):  # type: ignore[no-untyped-def]
    from mloop.config import init_workspace
    from mloop.store import open_workspace

    init_workspace(tmp_path / "ws")
    workspace = open_workspace(tmp_path / "ws", database_url=database_url, tracking_uri=mlflow_db)
    yield workspace
    workspace.close()


def _versions(ws, name: str, n: int, tmp_path: Path, approve: int) -> None:  # type: ignore[no-untyped-def]
    for i in range(n):
        (tmp_path / f"m{i}").mkdir()
        mv = registry.register(ws, name, str(tmp_path / f"m{i}"), principal="tester")
        if i < approve:
            registry.approve(ws, name, mv.version, principal="approver", comment="ok")


def test_deploy_weights_promote_rollback(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model, ep = f"m-{uuid.uuid4().hex[:6]}", f"ep-{uuid.uuid4().hex[:6]}"
    _versions(ws, model, 3, tmp_path, approve=2)
    with pytest.raises(EndpointNotFound):
        serving.get_endpoint(ws, ep)
    with pytest.raises(NotApproved, match="PendingManualApproval"):
        serving.deploy(ws, ep, model, version=3)
    with pytest.raises(InvalidWeights, match="first variant"):
        serving.deploy(ws, ep, model, version=1, weight=50)
    first = serving.deploy(ws, ep, model, version=1)
    assert [(v.name, v.model_version, v.weight) for v in first.variants] == [("production", 1, 100)]
    canary = serving.deploy(ws, ep, model, latest_approved=True, variant="canary", weight=10)
    assert {v.name: (v.model_version, v.weight) for v in canary.variants} == {
        "production": (1, 90), "canary": (2, 10)}
    with pytest.raises(InvalidWeights, match="sum to 100, got 110"):
        serving.set_weights(ws, ep, {"production": 100})
    with pytest.raises(InvalidInput, match="no variant 'canry'"):
        serving.set_weights(ws, ep, {"canry": 10})
    moved = serving.set_weights(ws, ep, {"production": 70, "canary": 30})
    assert moved is not None and moved.variant("canary").weight == 30
    promoted = serving.promote(ws, ep)
    assert [(v.name, v.model_version, v.weight) for v in promoted.variants] == [("production", 2, 100)]
    # rollback walks back: promote -> 70/30 -> 90/10 -> v1 only -> nothing left
    steps = [serving.rollback(ws, ep) for _ in range(3)]
    assert [{v.name: v.weight for v in s.variants} for s in steps] == [
        {"production": 70, "canary": 30}, {"production": 90, "canary": 10}, {"production": 100}]
    with pytest.raises(NothingToRollBack):
        serving.rollback(ws, ep)
    actions = [h["action"] for h in serving.history(ws, ep)]
    assert actions == ["rollback"] * 3 + ["promote", "set-weights", "deploy", "deploy"]
    assert serving.get_endpoint(ws, ep).generation == 7
    assert [e.name for e in serving.list_endpoints(ws)].count(ep) == 1


def test_stale_generation_changes_nothing(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model, ep = f"m-{uuid.uuid4().hex[:6]}", f"ep-{uuid.uuid4().hex[:6]}"
    _versions(ws, model, 2, tmp_path, approve=2)
    serving.deploy(ws, ep, model, version=1)
    serving.deploy(ws, ep, model, version=2, variant="canary", weight=20)
    assert serving.set_weights(ws, ep, {"canary": 0, "production": 100}, expected_generation=1) is None
    assert serving.set_weights(ws, ep, {"canary": 0, "production": 100}, expected_generation=2) is not None


def test_server_follows_the_configuration(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The watcher polls the generation on each backend, swaps, and a breaking canary is set to 0."""
    import time

    from starlette.testclient import TestClient

    from mloop.serving.runtime.served_model import ServedModel
    from tests.support.servers import wait_until

    def loader(variant):  # type: ignore[no-untyped-def]
        def predict(rows):  # type: ignore[no-untyped-def]
            if variant.model_version == 2:
                raise RuntimeError("broken")
            return [0.5] * len(rows)

        return ServedModel(variant.model_name, variant.model_version, variant.model_uri, predict,
                           ["a"], {"inputs": [{"name": "a", "kind": "numeric"}]}, "test")

    model, ep = f"m-{uuid.uuid4().hex[:6]}", f"ep-{uuid.uuid4().hex[:6]}"
    _versions(ws, model, 2, tmp_path, approve=2)
    app = serving.create_app(ws, ep, loader=loader, poll_interval=0.05)
    with TestClient(app) as client:
        assert client.get("/ping").status_code == 503
        serving.deploy(ws, ep, model, version=1, guardrails={"min_requests": 5})
        wait_until(lambda: client.get("/ping").status_code == 200, timeout=10, what="first load")
        serving.deploy(ws, ep, model, version=2, variant="canary", weight=50)
        wait_until(lambda: client.get("/ping").json()["generation"] == 2, timeout=10, what="swap")
        deadline = time.monotonic() + 10
        while serving.get_endpoint(ws, ep).variant("canary").weight and time.monotonic() < deadline:
            client.post("/invocations", content="1", headers={"content-type": "text/csv"})
        assert serving.get_endpoint(ws, ep).variant("canary").weight == 0
        assert serving.history(ws, ep, limit=1)[0]["action"] == "guardrail"


def test_changes_to_an_unknown_endpoint_say_not_found(ws) -> None:  # type: ignore[no-untyped-def]
    # On SQLite these waited out the busy timeout on their own write lock, then failed "database is locked".
    ep = f"ep-{uuid.uuid4().hex[:6]}"
    with pytest.raises(EndpointNotFound, match=f"endpoint '{ep}' not found"):
        serving.set_weights(ws, ep, {"production": 100})
    with pytest.raises(EndpointNotFound):
        serving.promote(ws, ep)
    with pytest.raises(EndpointNotFound):
        serving.rollback(ws, ep)


def test_the_input_policy_is_set_per_endpoint_and_kept_by_later_deploys(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from mloop.model_format import InputProfile, InputSpec
    from mloop.serving.runtime.served_model import ServedModel
    from tests.support.servers import wait_until

    profile = InputProfile([InputSpec("a", "numeric", missing=False, min=0.0, max=1.0)])

    def loader(variant):  # type: ignore[no-untyped-def]
        return ServedModel(variant.model_name, variant.model_version, variant.model_uri,
                           lambda rows: [0.5] * len(rows), ["a"], {}, "test", profile)

    model, ep = f"m-{uuid.uuid4().hex[:6]}", f"ep-{uuid.uuid4().hex[:6]}"
    _versions(ws, model, 2, tmp_path, approve=2)
    serving.deploy(ws, ep, model, version=1, guardrails={"input_policy": "reject"})
    later = serving.deploy(ws, ep, model, version=2, guardrails={"max_p99_ms": 50.0})
    assert later.guardrails == {"input_policy": "reject", "max_p99_ms": 50.0}
    app = serving.create_app(ws, ep, loader=loader, poll_interval=0.05)
    with TestClient(app) as client:
        wait_until(lambda: client.get("/ping").status_code == 200, timeout=10, what="first load")
        refused = client.post("/invocations", content="5", headers={"content-type": "text/csv"})
        assert refused.status_code == 400 and refused.json()["code"] == "input_rejected"
        assert "'a' = '5' is outside the training range (expected a number in 0..1)" in refused.json()["message"]
        assert client.post("/invocations", content="0.5", headers={"content-type": "text/csv"}).status_code == 200
    other = f"ep-{uuid.uuid4().hex[:6]}"
    serving.deploy(ws, other, model, version=1)  # no policy: the setting's default, warn
    with TestClient(serving.create_app(ws, other, loader=loader, poll_interval=0.05)) as client:
        wait_until(lambda: client.get("/ping").status_code == 200, timeout=10, what="first load")
        warned = client.post("/invocations", content="5", headers={"content-type": "text/csv"})
        assert warned.status_code == 200 and warned.headers["x-mloop-input-issues"] == "a:out_of_range=1"
        assert 'feature="a",issue="out_of_range"' in client.get("/metrics").text


def test_a_follower_that_read_the_endpoint_before_following_stopped_deploys_nothing(  # type: ignore[no-untyped-def]
        ws, tmp_path: Path) -> None:
    from mloop.serving.endpoints.follow import follow_once

    model, ep = f"m-{uuid.uuid4().hex[:6]}", f"ep-{uuid.uuid4().hex[:6]}"
    _versions(ws, model, 2, tmp_path, approve=1)
    serving.deploy(ws, ep, model, version=1)
    serving.set_follow(ws, ep, model, 20)
    registry.approve(ws, model, 2, principal="approver", comment="ok")
    seen = serving.get_endpoint(ws, ep)  # a server's follower reads the endpoint...
    serving.set_follow(ws, ep, None, None)  # ...the user stops following...
    assert follow_once(ws, seen) is None  # ...and the follower's change does not land
    assert [(v.name, v.model_version) for v in serving.get_endpoint(ws, ep).variants] == [("production", 1)]
    serving.set_follow(ws, ep, model, 20)
    followed = follow_once(ws, serving.get_endpoint(ws, ep))
    assert followed is not None and followed.variant("canary").model_version == 2


def test_a_reload_that_loads_or_drops_a_model_refreezes_and_a_weight_change_does_not(  # type: ignore[no-untyped-def]
        ws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mloop.serving.runtime import live as live_module
    from mloop.serving.runtime.served_model import ServedModel

    model, ep = f"m-{uuid.uuid4().hex[:6]}", f"ep-{uuid.uuid4().hex[:6]}"
    _versions(ws, model, 2, tmp_path, approve=2)
    serving.deploy(ws, ep, model, version=1)
    calls: list[int] = []
    monkeypatch.setattr(live_module, "refreeze", lambda: calls.append(1))
    loader = lambda v: ServedModel(v.model_name, v.model_version, v.model_uri, lambda rows: [0.5] * len(rows),  # noqa: E731
                                   ["x"], {}, "test")
    live = live_module.LiveEndpoint(ws, ep, loader)
    live.reload()
    assert len(calls) == 1  # the first model
    serving.deploy(ws, ep, model, version=2, variant="canary", weight=10)
    live.reload()
    assert len(calls) == 2  # a second model
    serving.set_weights(ws, ep, {"production": 50, "canary": 50})
    live.reload()
    assert len(calls) == 2  # same models: nothing to collect or freeze
