from __future__ import annotations

import pytest

from mloop.pipelines.kfp_frontend import cel
from mloop.pipelines.kfp_frontend.errors import KfpUnsupported


def test_compiled_conditions_evaluate_like_kfp() -> None:
    values = {"pipelinechannel--x": "heads", "pipelinechannel--n": 7, "pipelinechannel--t": "5"}
    assert cel.evaluate("inputs.parameter_values['pipelinechannel--x'] == 'heads'", values)
    assert not cel.evaluate("!(inputs.parameter_values['pipelinechannel--x'] == 'heads')", values)
    assert cel.evaluate("int(inputs.parameter_values['pipelinechannel--n']) >= "
                        "int(inputs.parameter_values['pipelinechannel--t'])", values)
    assert cel.evaluate("!(inputs.parameter_values['pipelinechannel--x'] != 'heads') && "
                        "inputs.parameter_values['pipelinechannel--n'] < 10 || false", values)
    assert cel.references("inputs.parameter_values['a'] == inputs.parameter_values['b']") == ["a", "b"]


def test_conditions_cannot_run_code() -> None:
    with pytest.raises(KfpUnsupported, match="outside what KFP compiles"):
        cel.evaluate("__import__('os').system('true')", {})
    with pytest.raises(KfpUnsupported, match="has no value"):
        cel.evaluate("inputs.parameter_values['missing'] == 1", {})
