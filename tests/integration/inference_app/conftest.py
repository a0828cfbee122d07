"""A real model server and a real inference app, started once for this package's tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.inference_app.procs import start_app, start_model_server, stop, train_model_dir


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """`mloop serve --model-dir` + `mloop app` on free ports, over a fresh workspace."""
    from mloop.config import init_workspace

    base = tmp_path_factory.mktemp("live")
    ws = base / "ws"
    init_workspace(ws)
    model = train_model_dir(base / "model")
    server, endpoint = start_model_server(model, base)
    app = None
    try:
        app, url = start_app(ws, endpoint)
        yield {"ws": ws, "url": url, "endpoint": endpoint, "server": server, "base": base}
    finally:
        if app is not None:
            stop(app)
        stop(server)


def logged(ws: Path, group: str) -> object:
    from mloop.features import extract
    from mloop.store import open_workspace

    workspace = open_workspace(ws)
    try:
        return extract(workspace, group)
    finally:
        workspace.close()
