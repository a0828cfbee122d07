"""The pipeline catalog: finding a pipeline by name or reference, and its run parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mloop.errors import InvalidInput
from mloop.pipelines import graph as g
from mloop.pipelines.catalog import (
    builtin_pipelines,
    import_ref,
    list_pipelines,
    load_pipeline,
    parse_param_args,
    resolve_params,
)
from mloop.pipelines.errors import PipelineDefinitionError, PipelineNotFound
from tests.unit.pipelines import example as ex

EXAMPLE = "tests.unit.pipelines.example:example"


@pytest.fixture
def project(workspace_dir: Path) -> Any:
    from mloop.store import open_workspace

    ws = open_workspace(workspace_dir, pipelines={"mine": EXAMPLE, "housing": EXAMPLE})
    yield ws
    ws.close()


def test_project_pipelines_join_and_override_the_built_ins(project: Any) -> None:
    known = list_pipelines(project)
    assert known["mine"] == EXAMPLE and known["housing"] == EXAMPLE  # the project's wins
    assert known["tabular"] == builtin_pipelines()["tabular"]
    assert load_pipeline(project, "mine") is ex.example
    assert load_pipeline(project, EXAMPLE) is ex.example  # a "module:function" reference
    assert load_pipeline(project, ex.example) is ex.example  # the object itself


def test_an_unknown_name_or_a_bad_reference_says_what_is_wrong(project: Any) -> None:
    with pytest.raises(PipelineNotFound, match="no pipeline named 'mien'") as info:
        load_pipeline(project, "mien")
    assert "mine" in (info.value.hint or "")
    with pytest.raises(PipelineDefinitionError, match="not a @pipeline function"):
        load_pipeline(project, "tests.unit.pipelines.example:helper")
    with pytest.raises(PipelineDefinitionError, match="cannot import 'no_such_module'"):
        import_ref("no_such_module:f", "step")
    with pytest.raises(PipelineDefinitionError, match="has no 'nothing'"):
        import_ref("os:nothing", "step")
    with pytest.raises(PipelineDefinitionError, match="is not 'module:function'"):
        import_ref("os", "step")


def _graph() -> g.Graph:
    params = [g.Param("n", "int", 3), g.Param("rate", "float", 0.5), g.Param("on", "bool", False),
              g.Param("cfg", "json", None), g.Param("name", "str", None, required=True)]
    return g.Graph(name="p", params={p.name: p for p in params})


def test_parameters_are_converted_to_their_declared_types() -> None:
    values = resolve_params(_graph(), {"n": "4.0", "rate": "1e-2", "on": "Yes", "cfg": '{"a": [1]}',
                                       "name": 7})
    assert values == {"n": 4, "rate": 0.01, "on": True, "cfg": {"a": [1]}, "name": "7"}
    with pytest.raises(InvalidInput, match=r"parameter 'n' \(int\) cannot be '4.5'"):
        resolve_params(_graph(), {"n": "4.5", "name": "x"})
    with pytest.raises(InvalidInput, match="cannot be 'maybe'"):
        resolve_params(_graph(), {"on": "maybe", "name": "x"})
    with pytest.raises(InvalidInput, match="has no parameter 'rte'") as info:
        resolve_params(_graph(), {"rte": 1})
    assert "rate" in (info.value.hint or "")
    with pytest.raises(InvalidInput, match="needs a value for 'name'") as info:
        resolve_params(_graph(), {})
    assert info.value.hint == "-p name=..."


def test_command_line_parameters_are_key_value() -> None:
    assert parse_param_args(["a=1", " b =x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(InvalidInput, match="'depth' is not key=value"):
        parse_param_args(["depth"])
    with pytest.raises(InvalidInput):
        parse_param_args(["=3"])
