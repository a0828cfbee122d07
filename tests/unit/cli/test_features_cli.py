"""`mloop features ...` and `mloop ingest` as a user runs them (real subprocesses)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import run_mloop


def test_create_ingest_show_list_delete(tmp_path: Path) -> None:
    assert run_mloop(["init"], tmp_path).returncode == 0
    csv = tmp_path / "ads.csv"
    csv.write_text("id,age,device,event_time\n1,30,Mobile,2024-01-01T00:00:00Z\n2,x,Tablet,2024-01-01\n"
                   "3,41,Desktop\n4,22,Mobile,2024-01-02\n")
    made = run_mloop(["features", "create", "ads", "--from-csv", str(csv), "--id", "id",
                "--event-time", "event_time"], tmp_path)
    assert made.returncode == 0, made.stderr
    assert "record id" in made.stdout and "timestamp" in made.stdout
    refused = run_mloop(["ingest", str(csv), "--group", "ads"], tmp_path)  # 1 of 4 rows fails: over 5%
    assert refused.returncode == 1 and "1 of 4 rows of ads.csv failed validation" in refused.stderr
    assert "  1 row: expected 4 columns (first at line 4)" in refused.stderr
    done = run_mloop(["ingest", str(csv), "--group", "ads", "--max-reject-ratio", "0.5", "--json"], tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["ingested"], report["rejected"], report["data_version"]) == (3, 1, 1)  # age: text ("x")
    assert Path(report["quarantine"]).is_file()
    human = run_mloop(["ingest", str(csv), "--group", "ads"], tmp_path)
    assert "already ingested" in human.stdout
    strict = run_mloop(["ingest", str(csv), "-g", "ads", "--force"], tmp_path)
    assert strict.returncode == 1 and "max-reject-ratio" in strict.stderr
    assert "Traceback" not in strict.stderr
    (tmp_path / "empty.csv").write_bytes(b"")
    empty = run_mloop(["ingest", "empty.csv", "--group", "ads"], tmp_path)
    assert empty.returncode == 1 and empty.stderr.startswith("error:") and "hint:" in empty.stderr
    listed = json.loads(run_mloop(["features", "list", "--json"], tmp_path).stdout)
    assert [(g["name"], g["data_version"]) for g in listed] == [("ads", 1)]
    shown = json.loads(run_mloop(["features", "show", "ads", "--json"], tmp_path).stdout)
    assert shown["record_identifier"] == "id" and len(shown["ingestions"]) == 1
    missing = run_mloop(["features", "show", "adz"], tmp_path)
    assert missing.returncode == 1 and "did you mean 'ads'" in missing.stderr
    assert run_mloop(["features", "delete", "ads", "--yes"], tmp_path).returncode == 0
    assert json.loads(run_mloop(["features", "list", "--json"], tmp_path).stdout) == []

