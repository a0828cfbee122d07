"""Ingesting a file shaped like the seed's ad_click_dataset.csv, as seed 001's script does:
the group is created when missing, ids repeat, there is no event time, ages are written 22.0."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mloop.features import FeatureGroupNotFound, IngestRejected, create_group, extract, get_group, ingest
from mloop.recipes.datasets.seed_file import write_seed_shaped_csv
from tests.support.feature_files import HEADER, events_spec, write


@pytest.fixture(scope="module")
def seed_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_seed_shaped_csv(tmp_path_factory.mktemp("seed") / "ad_click_dataset.csv")


def test_creates_the_group_and_reports_repeated_ids_and_ingest_time(workspace: Any, seed_csv: Path) -> None:
    with pytest.raises(FeatureGroupNotFound, match="record id column"):
        ingest(workspace, seed_csv, "ad-clicks")
    report = ingest(workspace, seed_csv, "ad-clicks", id_column="id")
    assert report.created_group and (report.ingested, report.rejected) == (10_000, 0)
    assert (report.distinct_ids, report.repeated_ids, report.rows_with_repeated_id) == (4_000, 500, 6_500)
    assert report.event_time_from_ingest == 10_000
    notes = " ".join(report.notes())
    assert "6,500 of 10,000 rows share their id" in notes and "ingest time, then row order" in notes
    spec = get_group(workspace, "ad-clicks").spec
    assert spec.record_identifier == "id" and spec.feature("age").type == "float"
    every = extract(workspace, "ad-clicks", records="all")
    assert len(every) == 10_000 and every.equals(extract(workspace, "ad-clicks", records="all"))
    newest = extract(workspace, "ad-clicks", records="latest")
    assert len(newest) == 4_000
    last = every.groupby("id").tail(1).set_index("id").sort_index()  # the file's last row per id
    assert newest.set_index("id")["full_name"].equals(last["full_name"])
    again = ingest(workspace, seed_csv, "ad-clicks", id_column="id")  # reused by name
    assert again.skipped and not again.created_group


def test_integral_floats_are_valid_ints(workspace: Any, tmp_path: Path) -> None:
    from mloop.features import Feature, FeatureGroupSpec

    create_group(workspace, FeatureGroupSpec(name="ages", record_identifier="id", features=[
        Feature(name="id", type="int"), Feature(name="age", type="int", min=0, max=120)]))
    path = write(tmp_path / "a.csv", "id,age\n1,22.0\n2,\n3,-0.00\n4,30\n" + "".join(
        f"{i},{i % 90}.0\n" for i in range(5, 60)))
    report = ingest(workspace, path, "ages")
    assert (report.ingested, report.rejected) == (59, 0)
    ages = extract(workspace, "ages").set_index("id")["age"]
    assert ages[1] == 22 and ages[3] == 0 and ages.isna().sum() == 1
    bad = write(tmp_path / "b.csv", "id,age\n1,22.5\n" + "".join(f"{i},{i}\n" for i in range(2, 60)))
    kept = ingest(workspace, bad, "ages")  # 1 of 59 rejected: under the 5% default
    assert kept.rejected == 1 and kept.examples[0]["reason"] == "age: '22.5' is not a valid int"


def test_a_file_that_does_not_fit_is_refused_naming_each_difference(workspace: Any, tmp_path: Path) -> None:
    create_group(workspace, events_spec())
    path = write(tmp_path / "x.csv", "uid,ts,x,n,colour,ok\n1,2024-01-01,abc,3,red,true\n2,,def,4,blue,no\n")
    with pytest.raises(IngestRejected) as caught:
        ingest(workspace, path, "ev", id_column="id")
    message = caught.value.message
    for part in ("--id id", "the file lacks column 'color' (string)",
                 "the file has column 'colour', which the group does not define",
                 "column 'x' holds string values (e.g. 'abc'); the group declares float"):
        assert part in message
    assert get_group(workspace, "ev").data_version == 0


def test_default_reject_ratio_refuses_the_file_with_the_top_reasons(workspace: Any, tmp_path: Path) -> None:
    create_group(workspace, events_spec())
    good = "".join(f"{i},2024-01-01,1.5,3,red,true\n" for i in range(1, 81))
    bad = ("90,2024-01-01,1.5,2000,red,true\n91,2024-01-01,1.5,2001,red,true\n92,2024-01-01,1.5,3,pink,true\n"
           "93,2024-01-01,1.5,3,red,maybe\n94,2024-01-01,1.5,3000,red,true\n95,2024-01-01,1.5,3,mauve,true\n"
           "96,2024-01-01,x,3,red,true\n")
    path = write(tmp_path / "r.csv", HEADER + good + bad)
    with pytest.raises(IngestRejected) as caught:
        ingest(workspace, path, "ev")
    lines = caught.value.message.splitlines()
    assert "7 of 87 rows" in lines[0] and "more than the 5% allowed" in lines[0]
    assert lines[1].strip().startswith("3 rows: n: above max 1000 (first at line ")
    assert lines[2].strip().startswith("2 rows: color: not in allowed values")
    assert lines[3].strip().startswith("1 row: ") and not lines[4].strip()[0].isdigit()
    assert get_group(workspace, "ev").data_version == 0
    assert ingest(workspace, path, "ev", max_reject_ratio=0.1).ingested == 80
