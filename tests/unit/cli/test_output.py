"""Tables that `mloop` prints stay readable at 80 columns when the output is piped."""

from __future__ import annotations

from typing import Any

from mloop.cli._output import table


def test_a_wide_table_prints_one_block_per_row_within_80_columns(capsys: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    rows = [{"step": "evaluate", "kind": "Evaluation", "status": "Succeeded", "attempts": 1, "time_s": 0.51,
             "outputs": "output:json:67e772b1c0", "note": "evaluated on 2000 test rows"},
            {"step": "train", "kind": "Training", "status": "Succeeded", "attempts": 1, "time_s": 14.9,
             "outputs": "model:dir:5b0d7aae21, model_uri:json:8bf556896c", "note": None}]
    table(rows, list(rows[0]), title="steps")
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "outputs   model:dir:5b0d7aae21, model_uri:json:8bf556896c" in lines
    assert "note      -" in lines and lines[0] == "steps"


def test_a_narrow_table_stays_a_table(capsys: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    table([{"step": "train", "metric": "auc", "value": 0.7306}], ["step", "metric", "value"])
    out = capsys.readouterr().out
    assert "┃ step" in out and "0.7306" in out and max(len(x) for x in out.splitlines()) <= 80
