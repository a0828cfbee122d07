"""Ingest: validation, quarantine with line numbers, idempotency, and the bad-CSV cases."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from mloop.features import IngestRejected, data_version, extract, get_online, ingest
from tests.support.feature_files import HEADER, write

GOOD = HEADER + "1,2024-01-01T00:00:00Z,1.5,3,red,true\n2,2024-01-02 10:00:00,2.5,4,blue,no\n"


def _quarantine(report: Any) -> list[dict[str, str]]:
    with open(report.quarantine, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_ingest_good_file(ev: Any, tmp_path: Path) -> None:
    report = ingest(ev, write(tmp_path / "a.csv", GOOD), "ev")
    assert (report.rows, report.ingested, report.rejected, report.data_version) == (2, 2, 0, 1)
    assert report.quarantine is None
    snap = extract(ev, "ev")
    assert list(snap["uid"]) == [1, 2]
    assert list(snap["ok"]) == [True, False]
    assert str(snap["ts"].iloc[1]) == "2024-01-02 10:00:00+00:00"  # naive times are UTC
    assert get_online(ev, "ev", [2], ["x", "color"]) == {2: {"x": 2.5, "color": "blue"}}


def test_bad_rows_are_quarantined_with_line_and_reason(ev: Any, tmp_path: Path) -> None:
    text = (HEADER + "1,2024-01-01,1.5,3,red,true\n"
            "2,2024-01-01,abc,3,red,true\n"        # line 3: bad float
            "3,2024-01-01,1.0,3,purple,true\n"     # line 4: not allowed
            "4,2024-01-01,1.0,3,red\n"             # line 5: too few columns
            "\n"                                   # line 6: empty, ignored
            "5,2024-01-01,1.0,5000,red,true\n"     # line 7: above max
            ",2024-01-01,1.0,3,red,true\n"         # line 8: missing id
            "7,not-a-time,1.0,3,red,maybe\n"       # line 9: bad timestamp (first reason)
            "8,2024-01-01,1.0,3,green,false\n")
    report = ingest(ev, write(tmp_path / "b.csv", text), "ev", max_reject_ratio=1.0)
    assert (report.rows, report.ingested, report.rejected) == (8, 2, 6)
    rows = {int(r["line"]): r for r in _quarantine(report)}
    assert sorted(rows) == [3, 4, 5, 7, 8, 9]
    assert "x: 'abc' is not a valid float" in rows[3]["reason"]
    assert "purple" in rows[4]["reason"] and "allowed" in rows[4]["reason"]
    assert "expected 6 columns, found 5" in rows[5]["reason"]
    assert "above max 1000" in rows[7]["reason"]
    assert "uid: missing value" in rows[8]["reason"]
    assert "ts:" in rows[9]["reason"]
    assert rows[4]["row"] == "3,2024-01-01,1.0,3,purple,true"  # the original text
    assert sorted(extract(ev, "ev")["uid"]) == [1, 8]


def test_same_content_is_skipped_unless_forced(ev: Any, tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", GOOD)
    assert not ingest(ev, path, "ev").skipped
    again = ingest(ev, path, "ev")
    assert again.skipped and data_version(ev, "ev") == 1
    forced = ingest(ev, path, "ev", force=True)
    assert not forced.skipped and forced.data_version == 2
    assert len(extract(ev, "ev")) == 2


def test_max_reject_ratio_and_all_rejected(ev: Any, tmp_path: Path) -> None:
    text = HEADER + "1,2024-01-01,1.5,3,red,true\n2,2024-01-01,bad,3,red,true\n"
    with pytest.raises(IngestRejected, match=r"50\.0%"):
        ingest(ev, write(tmp_path / "r.csv", text), "ev", max_reject_ratio=0.2)
    assert data_version(ev, "ev") == 0
    with pytest.raises(IngestRejected, match="every row"):
        ingest(ev, write(tmp_path / "all.csv", HEADER + "1,2024-01-01,1.5,5000,red,true\n"), "ev")
    with pytest.raises(IngestRejected, match="holds string values"):  # text where numbers belong
        ingest(ev, write(tmp_path / "text.csv", HEADER + "x,y,z,1,red,true\n"), "ev")
    assert data_version(ev, "ev") == 0 and extract(ev, "ev").empty


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "is empty"),
        (HEADER.encode(), "no data rows"),
        (b"uid,ts,x,n,color\n1,2024-01-01,1,1,red\n", "lacks column 'ok'"),
        (b"uid,ts,x,n,color,ok,extra\n1,2024-01-01,1,1,red,true,9\n", "'extra', which the group does not define"),
        (b"uid,ts,x,n,col\xe9r,ok\n", "header line is not UTF-8"),
    ],
    ids=["empty", "header-only", "missing-column", "extra-column", "non-utf8-header"],
)
def test_unusable_files_fail_clearly_and_write_nothing(
    ev: Any, tmp_path: Path, content: bytes, match: str
) -> None:
    with pytest.raises(IngestRejected, match=match):
        ingest(ev, write(tmp_path / "f.csv", content), "ev")
    assert data_version(ev, "ev") == 0


def test_event_time_column_may_be_absent(ev: Any, tmp_path: Path) -> None:
    report = ingest(ev, write(tmp_path / "n.csv", "uid,x,n,color,ok\n1,1.0,1,red,true\n"), "ev")
    assert report.ingested == 1
    assert extract(ev, "ev")["ts"].notna().all()  # filled with the ingestion time


def test_non_utf8_value_and_wrong_types(ev: Any, tmp_path: Path) -> None:
    text = HEADER.encode() + (b"1,2024-01-01,1.0,1,red,true\n2,2024-01-01,1.0,1,r\xe9d,true\n"
                              b"3,2024-01-01,1.0,1.5,red,true\n4,2024-01-01,1.0,1,red,perhaps\n")
    report = ingest(ev, write(tmp_path / "u.csv", text), "ev", max_reject_ratio=1.0)
    assert (report.ingested, report.rejected) == (1, 3)
    reasons = {int(r["line"]): r["reason"] for r in _quarantine(report)}
    assert reasons[3] == "color: not valid UTF-8 text"
    assert reasons[4] == "n: '1.5' is not a valid int"
    assert reasons[5] == "ok: 'perhaps' is not a valid bool"


def test_infinite_floats_are_quarantined(ev: Any, tmp_path: Path) -> None:
    """A float that overflows (inf, or a line of thousands of digits) would be inf offline, null online."""
    digits = "9" * 400
    text = HEADER + f"1,2024-01-01,inf,1,red,true\n2,2024-01-01,{digits},1,red,true\n3,2024-01-01,2.0,1,red,true\n"
    report = ingest(ev, write(tmp_path / "inf.csv", text), "ev", max_reject_ratio=1.0)
    assert (report.ingested, report.rejected) == (1, 2)
    reasons = {int(r["line"]): r["reason"] for r in _quarantine(report)}
    assert reasons == {2: "x: inf is not a finite number", 3: "x: inf is not a finite number"}


def test_ten_megabyte_line_is_quarantined(ev: Any, tmp_path: Path) -> None:
    huge = "g" * (10 << 20)
    text = HEADER + "1,2024-01-01,1.0,1,red,true\n" + f"2,2024-01-01,1.0,1,{huge},true\n" + \
        "3,2024-01-01,1.0,1,blue,false\n"
    report = ingest(ev, write(tmp_path / "big.csv", text), "ev", max_reject_ratio=1.0)
    assert (report.ingested, report.rejected) == (2, 1)
    assert _quarantine(report)[0]["line"] == "3"


def test_parquet_source(ev: Any, tmp_path: Path) -> None:
    import pandas as pd

    frame = pd.DataFrame({"uid": [1, 2, 3], "ts": pd.to_datetime(["2024-01-01"] * 3, utc=True),
                          "x": [0.1, 0.2, 0.3], "n": [1, 2, 3000], "color": ["red", "green", "red"],
                          "ok": [True, False, True]})
    frame.to_parquet(tmp_path / "p.parquet")
    report = ingest(ev, tmp_path / "p.parquet", "ev", max_reject_ratio=1.0)
    assert (report.ingested, report.rejected) == (2, 1)
    assert report.position == "row_number" and report.examples[0]["line"] == 3
    assert "above max" in report.examples[0]["reason"]
    assert _quarantine(report)[0]["row_number"] == "3"
