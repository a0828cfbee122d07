from __future__ import annotations

import pandas as pd
import pytest

from mloop.pipelines import Else, If, PipelineDefinitionError, pipeline, step
from tests.support import example_pipeline as ex


def build(fn):
    return pipeline(name="t")(fn).graph


def test_graph_of_example() -> None:
    graph = ex.example.graph
    assert list(graph.nodes) == ["load", "split", "train", "evaluate", "condition-1", "register", "alert"]
    assert graph.nodes["split"].outputs == {"train": "pandas.DataFrame", "test": "pandas.DataFrame"}
    assert graph.nodes["register"].when == [("condition-1", True)]
    assert graph.nodes["alert"].when == [("condition-1", False)]
    assert graph.nodes["condition-1"].inputs["left"].path == ("auc",)
    assert graph.nodes["train"].kind == "Training"
    assert graph.nodes["register"].options["cache"] is False  # register never caches
    assert set(graph.params) == {"n", "depth", "auc_threshold", "experiment_name"}
    again = type(graph).from_dict(graph.to_dict())
    assert again.digest() == graph.digest()


def test_steps_outside_pipelines_are_plain_functions() -> None:
    assert ex.add(2, 3) == 5
    assert len(ex.load(4)) == 4


def test_unknown_argument_names_step_and_argument() -> None:
    with pytest.raises(PipelineDefinitionError, match=r"step 'load' has no argument 'rows'"):
        build(lambda n=3: ex.load(rows=n))


def test_missing_argument() -> None:
    with pytest.raises(PipelineDefinitionError, match=r"step 'add'.*missing a required argument: 'b'"):
        build(lambda n=3: ex.add(n))


def test_step_instead_of_output() -> None:
    with pytest.raises(PipelineDefinitionError, match=r"argument 'df' of step 'split' got the step 'load' itself"):
        build(lambda n=3: ex.split(ex.load))


def test_several_outputs_not_unpacked() -> None:
    with pytest.raises(PipelineDefinitionError, match=r"argument 'data' of step 'train'.*2 outputs"):
        build(lambda n=3: ex.train(ex.split(ex.load(n))))


def test_output_type_mismatch() -> None:
    with pytest.raises(PipelineDefinitionError,
                       match=r"argument 'report' of step 'register' expects dict but output 'output' "
                             r"of step 'load' is pandas.DataFrame"):
        build(lambda n=3: ex.register(ex.load(n)))


def test_parameter_and_constant_type_mismatch() -> None:
    with pytest.raises(PipelineDefinitionError,
                       match=r"argument 'n' of step 'load' expects int but parameter 'x' is str"):
        build(lambda x="a": ex.load(x))
    with pytest.raises(PipelineDefinitionError, match=r"expects int but got the constant 'ten'"):
        build(lambda: ex.load("ten"))


def test_cycle_through_after() -> None:
    def cyclic(n: int = 1) -> None:
        a = ex.add(n, 1)
        b = ex.add(a, 1)
        a.after(b)

    with pytest.raises(PipelineDefinitionError, match=r"cycle among steps: add -> add-2"):
        build(cyclic)


def test_parameters_need_defaults_and_simple_types() -> None:
    with pytest.raises(PipelineDefinitionError, match=r"parameter 'n' of pipeline 't' needs a default"):
        pipeline(name="t")(lambda n: None)
    with pytest.raises(PipelineDefinitionError, match=r"parameters are int, float, str, bool"):
        def bad(df: pd.DataFrame = None) -> None: ...  # type: ignore[assignment]
        pipeline(name="t")(bad)


def test_python_if_on_an_output_is_refused() -> None:
    def wrong(n: int = 1) -> None:
        if ex.add(n, 1) > 3:
            ex.add(1, 1)

    with pytest.raises(PipelineDefinitionError, match=r"Python `if`"):
        build(wrong)


def test_else_needs_if_and_nested_conditions() -> None:
    def orphan(n: int = 1) -> None:
        with Else():
            ex.add(n, 1)

    with pytest.raises(PipelineDefinitionError, match=r"Else\(\) must directly follow"):
        build(orphan)

    def nested(n: int = 1, t: int = 2) -> None:
        total = ex.add(n, 1)
        with If(total >= t), If(total < 10):
            ex.add(total, 1)

    graph = build(nested)
    assert graph.nodes["add-2"].when == [("condition-1", True), ("condition-2", True)]


def test_after_and_duplicates() -> None:
    def ordered(n: int = 1) -> None:
        first = ex.add(n, 1)
        ex.add(n, 2).after(first)

    graph = build(ordered)
    assert graph.nodes["add-2"].after == ["add"]
    assert graph.nodes["add-2"].upstream() == ["add"]


def test_constants_must_be_json() -> None:
    with pytest.raises(PipelineDefinitionError, match=r"constants must be JSON"):
        build(lambda: ex.split(pd.DataFrame()))


def test_step_options_are_checked() -> None:
    with pytest.raises(PipelineDefinitionError, match=r"unknown step kind 'Trainer'"):
        step(kind="Trainer")
    with pytest.raises(PipelineDefinitionError, match=r"isolation"):
        step(isolation="vm")


def test_feature_group_annotation_is_recorded() -> None:
    graph = build(lambda g="clicks": ex.read_group(g))
    assert graph.nodes["read_group"].options["feature_group_args"] == ["group"]


def test_outputs_by_name_the_kfp_way() -> None:
    """Seed 003's wiring fix: `task.outputs["name"]`; mloop also takes `task["name"]`."""
    def by_name(n: int = 3):
        pre = ex.split(ex.load(n))
        ex.train(pre.outputs["train"])
        ex.evaluate(ex.train(pre["train"]), pre["test"])

    graph = build(by_name)
    assert graph.nodes["train"].inputs["data"].output == "train"
    assert graph.nodes["evaluate"].inputs["test"].output == "test"
    single = build(lambda n=3: ex.split(ex.load(n).outputs["output"]))
    assert single.nodes["split"].inputs["df"].step == "load"


def test_output_of_a_single_output_step_is_that_output_as_in_kfp(workspace) -> None:
    """KFP's `task.output` is the task's only output; mloop's `.output` is the same reference."""
    from mloop.pipelines import run_pipeline

    graph = ex.kfp_style.graph
    assert graph.nodes["split"].inputs["df"].to_dict() == {"step": "load", "output": "output"}
    assert graph.nodes["evaluate"].inputs["model"].to_dict() == {"step": "train", "output": "output"}
    record = run_pipeline(workspace, ex.kfp_style, {"n": 12}, tracking=False)
    assert record.status == "Succeeded", record.error
    assert record.step("evaluate").inputs["model"] == record.step("train").outputs["output"]["digest"]


def test_output_of_an_indexed_output_is_a_wiring_error() -> None:
    with pytest.raises(PipelineDefinitionError, match=r"an indexed output has no output.*its outputs: output"):
        build(lambda n=3: ex.register(ex.evaluate(ex.train(ex.load(n)), ex.load(n))["auc"].output))


@pytest.mark.parametrize(("wiring", "match"), [
    (lambda n=3: ex.train(ex.split(ex.load(n))["X_train_out"]),
     r"step 'split' has no output 'X_train_out'.*its outputs: train, test"),
    (lambda n=3: ex.train(ex.split(ex.load(n)).outputs["X_train_out"]),
     r"step 'split' has no output 'X_train_out'.*its outputs: train, test"),
    (lambda n=3: ex.train(ex.split(ex.load(n)).output), r"step 'split' has 2 outputs.*train, test"),
    (lambda n=3: ex.split(ex.load(n).outputs["df"]), r"step 'load' has no output 'df'.*its outputs: output"),
])
def test_a_wrong_output_name_is_a_wiring_error_naming_the_outputs(wiring, match: str) -> None:
    with pytest.raises(PipelineDefinitionError, match=match) as err:
        build(wiring)
    assert "outputs[" in (err.value.hint or "")
