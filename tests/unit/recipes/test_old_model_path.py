"""Models stored before the model format moved to `mloop.model_format` still load.

Two kinds of files name the old module `mloop.recipes.model`: the MLflow "model from code" file
MLflow copied into every logged model (its `load_context` imports `load_model_dir` from there),
and the record of a train step's stored output (`{"class": "mloop.recipes.model:TabularModel"}`).
`mloop/recipes/model.py` keeps that path alive and nothing else.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mloop.model_format import TabularModel
from mloop.pipelines.materializers import DirectoryMaterializer

# mloop/recipes/mlflow_pyfunc.py as releases before `mloop.model_format` wrote it (verbatim): the
# file MLflow copied into each model those releases logged, and runs again on every load.
OLD_PYFUNC = '''"""MLflow "model from code" for a TabularModel (executed by MLflow's loader, not imported by mloop).

`mloop.tracking.log_model(ws, run_id, python_model=<this file's path>,
artifacts={"model_dir": <TabularModel.save dir>})` logs it; MLflow copies the model directory
into the logged model, and on load `load_context` reads it back with `load_model_dir`. Any
environment with mloop installed can load and serve it (`mlflow models serve --env-manager local`).
"""

from __future__ import annotations

import mlflow
from mlflow.pyfunc import PythonModel


class TabularPyfunc(PythonModel):
    """Scores raw records with the TabularModel shipped in the `model_dir` artifact."""

    # No type hints on predict: MLflow would try (and fail) to derive a schema from them.
    def load_context(self, context):  # type: ignore[no-untyped-def]
        from mloop.recipes.model import load_model_dir

        self.model = load_model_dir(context.artifacts["model_dir"])

    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        import pandas as pd

        if isinstance(model_input, pd.DataFrame):
            return self.model.predict_frame(model_input)
        if isinstance(model_input, dict):
            model_input = [model_input]
        return self.model.predict_records(list(model_input))


mlflow.models.set_model(TabularPyfunc())
'''

SRC = Path(__file__).resolve().parents[3] / "src" / "mloop"


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"age": rng.normal(40, 10, 400), "device": rng.choice(["mobile", "desktop"], 400)})
    df["clicked"] = ((df["age"] > 40) ^ (df["device"] == "mobile")).astype(int)
    return df


@pytest.fixture(scope="module")
def model(frame: pd.DataFrame) -> TabularModel:
    return TabularModel.fit(frame, "clicked", params={"n_estimators": 5})


def test_an_mlflow_model_logged_before_the_move_loads_and_scores(model: TabularModel, frame: pd.DataFrame,
                                                                 tmp_path: Path) -> None:
    import mlflow.pyfunc

    old_file = tmp_path / "mlflow_pyfunc.py"  # the name the old file had, so the logged copy has it too
    old_file.write_text(OLD_PYFUNC, encoding="utf-8")
    model_dir = model.save(tmp_path / "model_dir")
    mlflow.pyfunc.save_model(str(tmp_path / "logged"), python_model=str(old_file),
                             artifacts={"model_dir": str(model_dir)})
    copy = (tmp_path / "logged" / "mlflow_pyfunc.py").read_text(encoding="utf-8")
    assert "from mloop.recipes.model import load_model_dir" in copy  # what sits on disk in old models

    loaded = mlflow.pyfunc.load_model(str(tmp_path / "logged"))
    rows = frame[["age", "device"]].head(10)
    np.testing.assert_allclose(np.asarray(loaded.predict(rows)), model.predict_frame(rows), atol=1e-6)


def test_a_train_output_stored_before_the_move_loads(model: TabularModel, tmp_path: Path) -> None:
    materializer = DirectoryMaterializer()
    stored = tmp_path / "out.dir"
    meta = materializer.save(model, stored)
    assert meta == {"class": "mloop.model_format.tabular:TabularModel"}  # what is recorded from now on

    loaded = materializer.load(stored, {"class": "mloop.recipes.model:TabularModel"})  # the old record
    assert isinstance(loaded, TabularModel)
    assert loaded.feature_names == model.feature_names


def test_nothing_in_mloop_imports_the_old_path() -> None:
    """The alias is for files on disk only: code imports `mloop.model_format`."""
    importers = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n == "mloop.recipes.model" for n in names):
                importers.append(str(path.relative_to(SRC)))
    assert importers == []


def test_a_release_project_written_before_the_move_still_imports_its_helpers(tmp_path: Path) -> None:
    """The project template of earlier versions imported these two names from the old path."""
    project = tmp_path / "old_project.py"
    project.write_text("from mloop.recipes.model import TabularModel, pyfunc_code_path\n"
                       "PATH = pyfunc_code_path()\n")
    namespace: dict[str, object] = {}
    exec(compile(project.read_text(), str(project), "exec"), namespace)
    from mloop.model_format import TabularModel, pyfunc_code_path

    assert namespace["TabularModel"] is TabularModel
    assert namespace["PATH"] == pyfunc_code_path()
