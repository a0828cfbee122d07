"""The model format: raw feature records -> preprocessing fitted in training -> estimator.

What pipelines train, the registry versions, endpoints serve and monitoring scores: a
`TabularModel` saved as a directory (`mloop_model.json` plus the estimator's own file, never a
pickle), and the MLflow "model from code" that wraps it. Its own concept, below `serving` and
`recipes` (both use it); it imports nothing of mloop but `errors` and the store's small
shared primitives (`atomic_write`, `encoding`).

One module per thing:

| module | holds |
|---|---|
| `tabular.py` | `TabularModel` (fit, predict, describe, save) and `load_model_dir`; the spec file's format |
| `preprocess.py` | `Preprocessor`: the fitted column transforms, row path and frame path |
| `preprocess_columns.py` | the column path of `Preprocessor.transform_records` (numpy, batches) |
| `values.py` | how one raw value is read (missing, number, boolean), shared by every path |
| `derived.py` | derived features declared as data and computed inside the model |
| `input_profile.py` | what training saw of each raw input (kinds, ranges, categories) |
| `estimators.py` | the estimators a model holds (XGBoost, RandomForest) and how they save |
| `forest.py` | tree ensembles flattened into numpy for small batches |
| `metrics.py` | evaluation metrics in numpy (AUC, logloss, F1, R²) |
| `mlflow_pyfunc.py` | the MLflow model-from-code file (run by MLflow's loader, never imported) |

Importing this package imports no numpy, pandas or estimator library; those load when a model
is fitted, loaded or scores.
"""

from mloop.model_format import derived
from mloop.model_format.input_profile import InputProfile, InputSpec
from mloop.model_format.metrics import binary_scores, multiclass_scores, regression_scores
from mloop.model_format.preprocess import Preprocessor, check_fields, with_derived
from mloop.model_format.tabular import (
    FORMAT,
    SPEC_FILE,
    TabularModel,
    infer_task,
    load_model_dir,
    pyfunc_code_path,
)
from mloop.model_format.values import NA_STRINGS

__all__ = [
    "FORMAT",
    "NA_STRINGS",
    "SPEC_FILE",
    "InputProfile",
    "InputSpec",
    "Preprocessor",
    "TabularModel",
    "binary_scores",
    "check_fields",
    "derived",
    "infer_task",
    "load_model_dir",
    "multiclass_scores",
    "pyfunc_code_path",
    "regression_scores",
    "with_derived",
]
