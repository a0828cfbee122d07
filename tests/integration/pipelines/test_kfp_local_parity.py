"""Samples kfp.local's subprocess runner can run give the same outputs under mloop."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from tests.integration.pipelines import kfp_corpus

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not kfp_corpus.CORPUS.is_dir(), reason="no KFP sample corpus here")]
# (source, pipeline function, kwargs, mloop step.output holding the pipeline's output)
CASES = [
    ("local_execution/pipeline_with_caching.py", "pipeline_with_caching", {"x": 5}, "add-one.Output"),
    ("nested_return.py", "nested_return", {}, "nested-return.Output"),
]


def _function(source: str, name: str) -> Any:
    path = kfp_corpus.CORPUS / source
    spec = importlib.util.spec_from_file_location(f"kfp_sample_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


@pytest.mark.parametrize(("source", "name", "kwargs", "output"), CASES)
def test_same_outputs_as_kfp_local(workspace: Any, tmp_path: Path, source: str, name: str,
                                   kwargs: dict[str, Any], output: str) -> None:
    from kfp import local

    from mloop.pipelines import run_pipeline
    from mloop.pipelines.kfp_frontend import load_object

    func = _function(source, name)
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "kfp"))
    expected = func(**kwargs).output  # kfp.local: a new interpreter per task
    record = run_pipeline(workspace, load_object(func, source).graph, kwargs, tracking=False)
    assert record.status == "Succeeded", record.error
    assert kfp_corpus._outputs(workspace, record)[output] == expected
