"""The CLI as a user runs it: a real subprocess, real exit codes, real stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.cli import MLOOP, clean_env, run_mloop


def test_version_and_help(tmp_path: Path) -> None:
    from mloop import __version__

    assert run_mloop(["--version"], tmp_path).stdout.strip() == f"mloop {__version__}"
    assert "demo" in run_mloop(["--help"], tmp_path).stdout


def test_server_help_shows_its_defaults_readably(tmp_path: Path) -> None:
    shown = run_mloop(["server", "--help"], tmp_path, COLUMNS="200").stdout
    assert "server.host setting, 127.0.0.1" in shown and "server.port setting, 8000" in shown


def test_importing_the_cli_imports_no_heavy_library() -> None:
    code = (
        "import sys, mloop.cli.main; heavy = ['sqlalchemy', 'pandas', 'mlflow', 'fastapi', 'pyarrow',"
        " 'duckdb', 'numpy', 'sklearn', 'xgboost', 'pydantic', 'boto3']; "
        "print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_outside_a_workspace_is_one_line_and_a_hint(tmp_path: Path) -> None:
    result = run_mloop(["config", "show"], tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: no mloop.toml")
    assert lines[1].startswith("hint: Run `mloop init`")
    assert "Traceback" not in result.stderr


def test_misspelled_key_error_and_debug_traceback(tmp_path: Path) -> None:
    assert run_mloop(["init"], tmp_path).returncode == 0
    (tmp_path / "mloop.toml").write_text('artifact_rot = "x"\n')
    result = run_mloop(["config", "show"], tmp_path)
    assert result.returncode == 1
    assert "unknown key 'artifact_rot'" in result.stderr and "artifact_root" in result.stderr
    assert "Traceback" not in result.stderr
    debug = run_mloop(["--debug", "config", "show"], tmp_path)
    assert "Traceback" in debug.stderr


def test_init_then_config_show_json(tmp_path: Path) -> None:
    first = run_mloop(["init", "--json"], tmp_path)
    assert json.loads(first.stdout)["created"]
    again = run_mloop(["init", "--json"], tmp_path)
    assert json.loads(again.stdout)["created"] == []
    rows = json.loads(run_mloop(["config", "show", "--json"], tmp_path, MLOOP_LOG_LEVEL="DEBUG").stdout)
    by_key = {row["key"]: row for row in rows}
    assert by_key["log_level"] == {**by_key["log_level"], "value": "DEBUG", "source": "env MLOOP_LOG_LEVEL"}
    assert by_key["database_url"]["source"] == "default"


def test_an_output_path_that_cannot_be_written_is_one_line_and_a_hint(tmp_path: Path) -> None:
    # `-o` under a file: was "unexpected error: FileExistsError ..." (a traceback stays for --debug).
    assert run_mloop(["init"], tmp_path).returncode == 0
    (tmp_path / "notes.txt").write_text("x")
    out = tmp_path / "notes.txt" / "pipe.yaml"
    result = run_mloop(["compile", "housing", "-o", str(out)], tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: cannot use ") and "notes.txt" in lines[0]
    assert "unexpected" not in lines[0] and lines[1].startswith("hint: Check the path")
    assert "Traceback" in run_mloop(["--debug", "compile", "housing", "-o", str(out)], tmp_path).stderr


def test_lineage_dump_into_a_directory_leaves_no_part_file(tmp_path: Path) -> None:
    assert run_mloop(["init"], tmp_path).returncode == 0
    (tmp_path / "out").mkdir()
    result = run_mloop(["lineage", "dump", "--pipeline", "housing", "--out", "out"], tmp_path)
    assert result.returncode == 1 and result.stderr.startswith("error: cannot use ")
    assert not (tmp_path / "out.part").exists()
    assert run_mloop(["lineage", "dump", "--pipeline", "housing", "--out", "l.json"], tmp_path).returncode == 0
    assert json.loads((tmp_path / "l.json").read_text())["pipeline"]["name"] == "housing"


def test_runs_list_status_is_case_insensitive_and_checked(tmp_path: Path) -> None:
    assert run_mloop(["init"], tmp_path).returncode == 0
    assert json.loads(run_mloop(["runs", "list", "--status", "succeeded", "--json"], tmp_path).stdout) == []
    typo = run_mloop(["runs", "list", "--status", "succeded"], tmp_path)  # was an empty table and exit 0
    assert typo.returncode == 1
    assert typo.stderr.splitlines() == ["error: unknown run status 'succeded'",
                                        "hint: did you mean 'Succeeded'? known: Executing, Failed, Pending, Stopped, "
                                        "Succeeded"]


def test_out_of_range_ports_are_refused_before_any_server_starts(tmp_path: Path) -> None:
    # `mloop server --port 99999` used to start uvicorn and announce http://127.0.0.1:99999;
    # `mloop serve --port -1` ended in "unexpected error: OverflowError".
    assert run_mloop(["init"], tmp_path).returncode == 0
    env = clean_env()
    for args in (["server", "--port", "99999"], ["serve", "ep", "--port", "-1"],
                 ["app", "--endpoint", "http://127.0.0.1:1", "--port", "70000"]):
        result = subprocess.run(MLOOP + args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "Invalid value for '--port'" in result.stderr and "Uvicorn running" not in result.stderr


def test_server_start_banner_is_clean(tmp_path: Path) -> None:
    # Rich ate "[auth]" ("no  tokens configured"); 7 "INFO alembic.runtime.plugins: setup plugin" lines came first.
    from tests.support.servers import free_port

    assert run_mloop(["init"], tmp_path).returncode == 0
    env = clean_env()
    proc = subprocess.Popen([*MLOOP, "server", "--port", str(free_port())], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    try:
        assert proc.stderr is not None
        for line in proc.stderr:  # ends when the server is up (or the process dies)
            lines.append(line)
            if "Application startup complete" in line:
                break
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    text = "".join(lines)
    assert "Application startup complete" in text, text
    assert "no tokens issued yet" in text and "alembic" not in text


def test_serve_refuses_an_endpoint_name_that_is_a_path(tmp_path: Path) -> None:
    # `mloop serve '../../x'` wrote and then deleted ../../x.json outside the workspace.
    ws = tmp_path / "a" / "b" / "ws"
    ws.mkdir(parents=True)
    assert run_mloop(["init"], ws).returncode == 0
    for name in ("../../x", "/tmp/x"):
        result = run_mloop(["serve", name, "--port", "1"], ws)
        assert result.returncode == 1, (name, result.stderr)
        assert result.stderr.startswith(f"error: invalid endpoint name '{name}'"), result.stderr
    assert not (tmp_path / "a" / "x.json").exists() and not list(tmp_path.rglob("x.json"))
