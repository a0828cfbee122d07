"""Feature groups: specs, files, inference, CRUD, data versions and errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mloop.features import (
    FeatureGroupExists,
    FeatureGroupNotFound,
    InvalidSpec,
    create_group,
    data_version,
    delete_group,
    get_group,
    get_online,
    infer_spec,
    ingest,
    list_groups,
    load_spec_file,
)
from tests.support.feature_files import GOOD_ROWS, events_spec, write


def test_spec_rules() -> None:
    spec = events_spec()
    assert spec.feature("uid").nullable is False
    from mloop.features.schema import parse_spec

    with pytest.raises(InvalidSpec, match="record_identifier 'nope'"):
        parse_spec({"name": "g", "record_identifier": "nope", "features": [{"name": "a", "type": "int"}]})
    with pytest.raises(InvalidSpec, match=r"should be .int."):
        parse_spec({"name": "g", "record_identifier": "a", "features": [{"name": "a", "type": "integer"}]})
    with pytest.raises(InvalidSpec, match="valid group name"):
        parse_spec({"name": "bad name!", "record_identifier": "a", "features": [{"name": "a", "type": "int"}]})
    auto = parse_spec({"name": "g", "record_identifier": "a", "features": [{"name": "a", "type": "int"}]})
    assert auto.event_time == "event_time" and auto.feature("event_time").type == "timestamp"


def test_spec_files(tmp_path: Path) -> None:
    toml = write(tmp_path / "g.toml", 'name = "g"\nrecord_identifier = "a"\n'
                 '[[features]]\nname = "a"\ntype = "string"\n')
    assert load_spec_file(toml).feature("a").type == "string"
    yaml = write(tmp_path / "g.yaml", "record_identifier: a\nfeatures:\n  - {name: a, type: int}\n")
    assert load_spec_file(yaml, name="h").name == "h"
    with pytest.raises(InvalidSpec, match="not valid"):
        load_spec_file(write(tmp_path / "bad.toml", "= oops"))


def test_infer_from_csv(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "id,when,score,name,flag\n1,2024-01-01T00:00:00,1.5,a,true\n2,,2,b,false\n")
    spec = infer_spec(path, "d", "id", "when")
    assert {f.name: f.type for f in spec.features} == {
        "id": "int", "when": "timestamp", "score": "float", "name": "string", "flag": "bool"}
    with pytest.raises(InvalidSpec, match="no column 'idd'") as info:
        infer_spec(path, "d", "idd")
    assert "did you mean 'id'" in (info.value.hint or "")


def test_crud_and_versions(workspace: Any, tmp_path: Path) -> None:
    create_group(workspace, events_spec("a"))
    create_group(workspace, events_spec("b"))
    with pytest.raises(FeatureGroupExists):
        create_group(workspace, events_spec("a"))
    assert [g.name for g in list_groups(workspace)] == ["a", "b"]
    assert data_version(workspace, "a") == 0
    ingest(workspace, write(tmp_path / "x.csv", GOOD_ROWS), "a")
    assert data_version(workspace, "a") == 1 and get_group(workspace, "a").data_version == 1
    assert get_online(workspace, "a", [1])
    delete_group(workspace, "a")
    with pytest.raises(FeatureGroupNotFound) as info:
        get_group(workspace, "a")
    assert "known: b" in (info.value.hint or "")
    create_group(workspace, events_spec("a"))  # the name is free again, and empty
    assert data_version(workspace, "a") == 0
    assert get_online(workspace, "a", [1]) == {}
