"""Verified artifacts on the serving path: a version records the digest of its model files, and a
server checks its copy before loading (a damaged cache is fetched again; a damaged registry copy
is refused while the previous generation keeps serving, and an alert says so)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from mloop import serving
from mloop.serving.runtime.live import LiveEndpoint
from mloop.serving.runtime.model_cache import model_dir, workspace_loader
from mloop.tracking import files_digest
from tests.support.serving import publish, train

ROWS = [[25, "ios", 3, 0.5], [61, "web", None, -1.2]]
SPEC = "mloop_model.json"


def damage(directory: Path) -> Path:
    """Change one byte of the model's spec so that it still loads (the worst case: silent)."""
    spec = next(directory.rglob(SPEC))
    text = spec.read_text()
    assert '"target": "clicked"' in text
    spec.write_text(text.replace('"target": "clicked"', '"target": "clickeD"'))
    return spec


def registry_copy(ws: Any, version: Any) -> Path:
    """The directory MLflow's registry downloads this version from (local artifact store)."""
    from mloop.tracking.client import activated

    with activated(ws) as client:
        source = client.get_model_version_download_uri(version.name, str(version.version))
    path = Path(source.removeprefix("file://"))
    assert path.is_dir(), source
    return path


def server(ws: Any) -> LiveEndpoint:
    """What a freshly started server process does first: load the endpoint's configuration."""
    live = LiveEndpoint(ws, "ep", workspace_loader(ws))
    live.tick()
    return live


def test_a_registered_version_records_the_digest_of_its_files(workspace: Any, tmp_path: Path) -> None:
    mv = publish(workspace, "ctr", train(seed=1), tmp_path)
    assert re.fullmatch(r"[0-9a-f]{64}", mv.model_digest or "")
    assert files_digest(model_dir(workspace, mv.model_uri)) == mv.model_digest


def test_a_damaged_cached_copy_is_fetched_again_before_load(workspace: Any, tmp_path: Path) -> None:
    model = train(seed=1)
    mv = publish(workspace, "ctr", model, tmp_path)
    serving.deploy(workspace, "ep", "ctr", version=mv.version)
    cached = model_dir(workspace, mv.model_uri)
    damage(cached)
    live = server(workspace)
    assert live.current is not None and live.current.generation == 1
    assert files_digest(cached) == mv.model_digest  # the cache holds the registered files again
    served = live.current.variants["production"].model
    assert served.predict(ROWS) == pytest.approx(model.predict_records(ROWS).tolist(), abs=1e-9)


def test_a_damaged_registry_copy_is_refused_and_the_previous_generation_serves(workspace: Any,
                                                                                tmp_path: Path) -> None:
    from mloop.alerts import list_alerts

    v1 = publish(workspace, "ctr", train(seed=1), tmp_path)
    v2 = publish(workspace, "ctr", train(seed=2), tmp_path)
    serving.deploy(workspace, "ep", "ctr", version=v1.version)
    live = server(workspace)
    assert live.current is not None and live.current.variants["production"].version == str(v1.version)

    damage(registry_copy(workspace, v2))
    serving.deploy(workspace, "ep", "ctr", version=v2.version)
    live.tick()
    assert live.current.generation == 1 and live.current.variants["production"].version == str(v1.version)
    assert live.ready and "do not match the digest" in (live.last_error or "")
    alerts = [a for a in list_alerts(workspace) if a.source == "serving"]
    assert len(alerts) == 1 and alerts[0].severity == "critical"
    assert "generation 2 refused" in alerts[0].title and "still serving generation 1" in alerts[0].title
    live.tick()  # retried later: refused again, but alerted once
    assert len([a for a in list_alerts(workspace) if a.source == "serving"]) == 1
