"""`--install-packages`: packages_to_install into a cached venv, offline from a wheel directory,
and one clear line when the index cannot be reached (no network in these tests)."""

import base64
import hashlib
import socket
import zipfile
from pathlib import Path
from typing import Any

import pytest
from kfp import dsl

from mloop.pipelines import run_pipeline
from mloop.pipelines.kfp_frontend import KfpUnsupported, load_object
from mloop.pipelines.runs import load_artifact

pytestmark = pytest.mark.slow


@dsl.component(packages_to_install=["mloop-kfp-probe==1.0"])
def probe() -> int:
    import mloop_kfp_probe

    return mloop_kfp_probe.VALUE


@dsl.component(packages_to_install=["mloop-kfp-absent==1.0"])
def absent() -> int:
    return 1


@dsl.pipeline(name="kfp-probe")
def probing() -> int:
    return probe().set_caching_options(False).output


@dsl.pipeline(name="kfp-absent")
def lacking() -> int:
    return absent().output


def _wheel(directory: Path) -> None:
    """A minimal pure-Python wheel (what `pip wheel` writes), so pip needs no index."""
    files = {"mloop_kfp_probe/__init__.py": b"VALUE = 42\n",
             "mloop_kfp_probe-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: mloop-kfp-probe\nVersion: 1.0\n",
             "mloop_kfp_probe-1.0.dist-info/WHEEL":
                 b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = [f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},"
              f"{len(data)}" for name, data in files.items()]
    record.append("mloop_kfp_probe-1.0.dist-info/RECORD,,")
    files["mloop_kfp_probe-1.0.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
    with zipfile.ZipFile(directory / "mloop_kfp_probe-1.0-py3-none-any.whl", "w") as whl:
        for name, data in files.items():
            whl.writestr(name, data)


def test_missing_packages_install_into_a_cached_venv_from_a_wheel_directory(
        workspace: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(KfpUnsupported, match=r"mloop-kfp-probe==1.0.*--install-packages"):
        load_object(probing, "probing")
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    _wheel(wheels)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    loaded = load_object(probing, "probing", install_packages=True)
    assert any("cached venv" in w and "mloop-kfp-probe==1.0" in w for w in loaded.warnings)
    record = run_pipeline(workspace, loaded.graph, tracking=False)
    assert record.status == "Succeeded", record.error
    assert load_artifact(workspace, record.id, "probe", "Output") == 42
    venvs = [p for p in (Path(workspace.state_dir) / "kfp-venvs").iterdir() if p.is_dir()]
    assert len(venvs) == 1 and not venvs[0].name.endswith(".partial")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "nowhere"))  # nothing to install from now
    again = run_pipeline(workspace, loaded.graph, tracking=False)  # the cached venv is reused
    assert again.status == "Succeeded", again.error
    assert load_artifact(workspace, again.id, "probe", "Output") == 42


def test_an_unreachable_index_fails_the_task_in_one_line(
        workspace: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.delenv("PIP_NO_INDEX", raising=False)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    monkeypatch.setenv("PIP_INDEX_URL", f"http://127.0.0.1:{port}/simple")
    record = run_pipeline(workspace, load_object(lacking, "lacking", install_packages=True).graph,
                          tracking=False)
    assert record.status == "Failed"
    error = record.step("absent").message or ""
    assert "the package index is unreachable" in error and "pip install mloop-kfp-absent==1.0" in error
    assert "Traceback" not in error
    assert not [p for p in (Path(workspace.state_dir) / "kfp-venvs").iterdir() if p.is_dir()]
