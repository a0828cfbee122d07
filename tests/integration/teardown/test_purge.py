"""`mloop features delete --purge` and `mloop runs delete`: files and rows go, shared content stays,
and what something still uses is refused (the inference app's group, a reused run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mloop.features import create_group, get_group, get_online, ingest
from mloop.features.offline.source import group_files
from mloop.recipes.datasets.ad_clicks import ad_clicks, ad_clicks_spec, write_broken_csv
from tests.integration.teardown.test_destroy import cli


def _group(ws: Any, name: str, csv: Path) -> Any:
    create_group(ws, ad_clicks_spec(name))
    return ingest(ws, csv, name)


def test_purge_removes_files_rows_and_quarantine_but_not_shared_content(
    workspace: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws = workspace
    csv = ws.root / "clicks.csv"
    frame = ad_clicks(200, seed=3)
    write_broken_csv(frame, csv)
    report = _group(ws, "clicks-a", csv)
    _group(ws, "clicks-b", csv)  # the same content: the offline Parquet may be shared by digest
    assert report.quarantine and Path(report.quarantine).exists()
    files_a = [p for _, p in group_files(ws, get_group(ws, "clicks-a"))]
    files_b = {p for _, p in group_files(ws, get_group(ws, "clicks-b"))}
    some_id = frame["id"].iloc[0]
    assert get_online(ws, "clicks-a", [some_id])

    r = cli(ws, monkeypatch, "features", "delete", "clicks-a", "--purge", "--yes", "--json")
    assert r.exit_code == 0, r.output
    assert not Path(report.quarantine).exists()
    assert all(Path(p).exists() == (p in files_b) for p in files_a)  # shared files stay for clicks-b
    assert cli(ws, monkeypatch, "features", "show", "clicks-a").exit_code == 1
    assert get_online(ws, "clicks-b", [some_id])  # the other group's rows are untouched
    r = cli(ws, monkeypatch, "features", "delete", "clicks-b", "--purge", "--yes")
    assert r.exit_code == 0 and not any(Path(p).exists() for p in files_b)


def test_the_inference_apps_group_is_refused_unless_forced(workspace: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = workspace
    csv = ws.root / "clicks.csv"
    ad_clicks(50, seed=4).to_csv(csv, index=False)
    _group(ws, "user-interactions", csv)  # the name app.interactions_group points at by default
    refused = cli(ws, monkeypatch, "features", "delete", "user-interactions", "--yes")
    assert refused.exit_code == 1
    assert "app setting app.interactions_group" in str(refused.exception)
    assert "--force" in refused.exception.hint
    assert get_group(ws, "user-interactions")
    forced = cli(ws, monkeypatch, "features", "delete", "user-interactions", "--purge", "--force", "--yes")
    assert forced.exit_code == 0, forced.output


def test_runs_delete_refuses_a_run_whose_outputs_are_reused(workspace: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from mloop.pipelines import pipeline, run_pipeline, step

    @step
    def make(n: int) -> dict:
        return {"n": n}

    @step
    def use(doc: dict) -> dict:
        return {"twice": doc["n"] * 2}

    @pipeline(name="tiny-teardown")
    def tiny(n: int = 3):
        use(make(n))

    ws = workspace
    first = run_pipeline(ws, tiny, {}, tracking=False)
    second = run_pipeline(ws, tiny, {}, tracking=False)  # both steps cached from the first run
    assert {s.status for s in second.steps} == {"Cached"}
    refused = cli(ws, monkeypatch, "runs", "delete", first.id)
    assert refused.exit_code == 1 and f"reused by run(s) {second.id}" in str(refused.exception)
    assert cli(ws, monkeypatch, "runs", "delete", second.id).exit_code == 0
    done = cli(ws, monkeypatch, "runs", "delete", first.id, "--json")
    assert done.exit_code == 0, done.output
    assert cli(ws, monkeypatch, "runs", "show", first.id).exit_code == 1
