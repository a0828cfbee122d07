"""The model format: raw feature records -> preprocessing fitted on train -> estimator.

A `TabularModel` is what pipelines train, the registry versions and endpoints serve. It accepts
raw records (strings, missing values, unknown categories) because the preprocessing ships inside
it. `predict_records` is the serving hot path: no pandas, one numpy allocation, XGBoost with one
thread and `inplace_predict`. A saved model is a directory: `mloop_model.json` (task, columns,
preprocessing, classes) plus the estimator file (XGBoost JSON, or skops for RandomForest);
loading never unpickles anything.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mloop.errors import IntegrityError, InvalidInput, NotFound
from mloop.model_format.estimators import estimator_class
from mloop.model_format.input_profile import InputProfile
from mloop.model_format.preprocess import Preprocessor
from mloop.store.encoding import plain
from mloop.store.files import atomic_write

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

SPEC_FILE = "mloop_model.json"
FORMAT = "mloop-tabular"
FORMAT_VERSION = 1
TASKS = ("classification", "regression")


def infer_task(target: pd.Series) -> str:
    """classification for booleans, text and integers with few distinct values; else regression."""
    import pandas as pd

    values = target.dropna()
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return "classification"
    if pd.api.types.is_integer_dtype(values) or (values % 1 == 0).all():
        return "classification" if values.nunique() <= 10 else "regression"
    return "regression"


def default_features(frame: pd.DataFrame, target: str) -> list[str]:
    """Every column but the target and date/time columns (event times are not features)."""
    import pandas as pd

    return [c for c in frame.columns
            if c != target and not pd.api.types.is_datetime64_any_dtype(frame[c])]


class TabularModel:
    """A fitted preprocessing + estimator pair with a stable record-level interface.

    Attributes:
        feature_names: raw input columns, in the order list-shaped rows must follow.
        task: "classification" or "regression".
        classes: class labels (classification); scores are P(classes[1]) for binary models.
        target: the training label column.
        metadata: free-form facts (dataset, synthetic flag, params) saved with the model.
        inputs: what training saw of each raw input (kinds, missing values, ranges, categories).
    """

    def __init__(self, preprocessor: Preprocessor, estimator: Any, *, task: str, target: str,
                 classes: list[Any] | None = None, params: dict[str, Any] | None = None,
                 metadata: dict[str, Any] | None = None, inputs: InputProfile | None = None) -> None:
        self.preprocessor = preprocessor
        self.inputs = inputs or InputProfile.from_preprocessor(preprocessor)
        self.estimator = estimator
        self.task = task
        self.target = target
        self.classes = list(classes or [])
        self.params = dict(params or {})
        self.metadata = dict(metadata or {})

    @property
    def feature_names(self) -> list[str]:
        return self.preprocessor.feature_names

    @property
    def estimator_kind(self) -> str:
        return self.estimator.kind

    @classmethod
    def fit(cls, frame: pd.DataFrame, target: str, *, features: list[str] | None = None,
            task: str | None = None, estimator: str = "xgboost", params: dict[str, Any] | None = None,
            categorical: list[str] | None = None, derived: list[dict[str, Any]] | None = None,
            seed: int = 0, metadata: dict[str, Any] | None = None) -> TabularModel:
        """Fit preprocessing and estimator on a training frame (the training split only).

        Args:
            frame: training rows: feature columns plus `target`.
            target: the label column.
            features: input columns (default: every column but the target).
            task: "classification" or "regression" (inferred from the target when None).
            estimator: "xgboost" or "random_forest".
            params: estimator parameters (n_estimators, max_depth, learning_rate, ...).
            categorical: columns to one-hot even if they look numeric.
            derived: features computed from raw columns inside the model (`mloop.model_format.derived`).

        Raises:
            InvalidInput: unknown columns, task or estimator; too few classes.
        """
        import numpy as np

        if target not in frame.columns:
            raise InvalidInput(f"target column '{target}' is not in the training data")
        labelled = frame[frame[target].notna()]
        features = list(features) if features else default_features(frame, target)
        task = task or infer_task(labelled[target])
        if task not in TASKS:
            raise InvalidInput(f"unknown task '{task}'", hint="one of: " + ", ".join(TASKS))
        preprocessor = Preprocessor.fit(labelled, features, categorical=categorical, derived=derived)
        X = preprocessor.transform_frame(labelled)
        classes: list[Any] = []
        if task == "classification":
            classes = sorted(plain(v) for v in labelled[target].unique())  # Python values: JSON, equality
            if len(classes) < 2:
                raise InvalidInput(f"target '{target}' has {len(classes)} class(es); need at least 2")
            lookup = {c: i for i, c in enumerate(classes)}
            y = np.array([lookup[plain(v)] for v in labelled[target].tolist()], dtype=np.float64)
        else:
            y = labelled[target].to_numpy(dtype=np.float64)
        est = estimator_class(estimator).fit(X, y, task=task, n_classes=max(len(classes), 1),
                                             params=dict(params or {}), seed=seed)
        return cls(preprocessor, est, task=task, target=target, classes=classes,
                   params=dict(params or {}), metadata=metadata,
                   inputs=InputProfile.fit(labelled, preprocessor))

    def predict_records(self, rows: list[Any]) -> np.ndarray:
        """Scores for raw records: dicts by column name or lists in `feature_names` order.

        Returns:
            P(class 1) per row (binary), a row x class matrix (multi-class), or values (regression).

        Raises:
            InvalidInput: malformed rows or values.
        """
        return self.estimator.predict(self.preprocessor.transform_records(rows))

    def predict_frame(self, frame: pd.DataFrame) -> np.ndarray:
        """Scores for a DataFrame holding (at least) the feature columns."""
        return self.estimator.predict(self.preprocessor.transform_frame(frame))

    def predict_labels(self, scores: np.ndarray) -> list[Any]:
        """Class labels from scores (threshold 0.5 for binary models)."""
        import numpy as np

        if self.task == "regression":
            return scores.tolist()
        index = (scores >= 0.5).astype(int) if scores.ndim == 1 else np.argmax(scores, axis=1)
        return [self.classes[i] for i in index]

    def feature_importances(self) -> dict[str, float]:
        """Importance per model column (one-hot columns summed; derived features by name), summing to 1."""
        names = self.preprocessor.output_names
        values = self.estimator.importances(len(names))
        total: dict[str, float] = dict.fromkeys([c.name for c in self.preprocessor.columns], 0.0)
        for column, value in zip(self._owners(), values, strict=False):
            total[column] += value
        norm = sum(total.values()) or 1.0
        return {k: v / norm for k, v in total.items()}

    def _owners(self) -> list[str]:
        return [c.name for c in self.preprocessor.columns for _ in range(c.width)]

    def input_example(self, frame: pd.DataFrame, rows: int = 5) -> pd.DataFrame:
        """A few raw rows for MLflow's signature: numbers as float64 (they may be missing)."""
        example = frame[self.feature_names].head(rows).copy()
        kinds = {c.name: c.kind for c in self.preprocessor.columns}
        for name in self.feature_names:
            kind = kinds.get(name, "numeric")  # inputs only derived features read are numbers
            if kind == "numeric":
                example[name] = example[name].astype("float64")
            elif kind == "categorical":
                example[name] = example[name].astype("object").where(
                    example[name].notna(), None).map(lambda v: v if v is None else str(v))
        return example

    def describe(self) -> dict[str, Any]:
        """The model's interface: the raw inputs records carry (name, kind, whether they may be
        missing, range or categories; derived features are computed inside and not listed), task,
        classes, outputs."""
        return {"format": FORMAT, "task": self.task, "estimator": self.estimator_kind,
                "target": self.target, "classes": self.classes, "inputs": self.inputs.describe(),
                "derived": [d["name"] for d in self.preprocessor.derived],
                "output": "probability" if self.task == "classification" else "value"}

    def save(self, directory: Path | str) -> Path:
        """Write the model directory (created; existing model files are replaced)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        estimator_file = self.estimator.save(directory)
        spec = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "task": self.task,
            "target": self.target, "classes": self.classes, "estimator": self.estimator_kind,
            "estimator_file": estimator_file, "params": self.params, "metadata": self.metadata,
            "feature_names": self.feature_names, "preprocessing": self.preprocessor.to_dict(),
            "inputs": self.inputs.to_dict(),
        }
        atomic_write(directory / SPEC_FILE, json.dumps(spec, indent=2, sort_keys=True, default=str))
        return directory

    @classmethod
    def load(cls, directory: Path | str) -> TabularModel:
        """Read a directory written by `save`.

        Raises:
            NotFound: no model there.
            IntegrityError: the files are not an mloop model of a known version.
        """
        return load_model_dir(directory)


def load_model_dir(path: Path | str) -> TabularModel:
    """Load a saved TabularModel from a directory (or an MLflow model dir that wraps one).

    Raises:
        NotFound: no `mloop_model.json` in `path` (or its `artifacts/model_dir`).
        IntegrityError: unknown format or version, or a damaged estimator file.
    """
    directory = _find_spec_dir(Path(path))
    try:
        spec = json.loads((directory / SPEC_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise IntegrityError(f"{directory / SPEC_FILE} is not readable JSON: {exc}") from exc
    if spec.get("format") != FORMAT or spec.get("format_version") != FORMAT_VERSION:
        raise IntegrityError(
            f"{directory} holds format {spec.get('format')} v{spec.get('format_version')}; "
            f"this mloop reads {FORMAT} v{FORMAT_VERSION}")
    classes = spec.get("classes") or []
    estimator = estimator_class(spec["estimator"]).load(directory, spec["task"], max(len(classes), 1))
    profile = InputProfile.from_dict(spec["inputs"]) if spec.get("inputs") else None  # older models: none
    return TabularModel(Preprocessor.from_dict(spec["preprocessing"]), estimator, task=spec["task"],
                        target=spec.get("target", ""), classes=classes, params=spec.get("params"),
                        metadata=spec.get("metadata"), inputs=profile)


def _find_spec_dir(path: Path) -> Path:
    for candidate in (path, path / "artifacts" / "model_dir", path / "model_dir"):
        if (candidate / SPEC_FILE).is_file():
            return candidate
    if path.is_dir():
        nested = sorted(path.glob(f"**/{SPEC_FILE}"))
        if len(nested) == 1:
            return nested[0].parent
    raise NotFound(f"no mloop model in {path} (expected {SPEC_FILE})",
                   hint="Pass the directory written by TabularModel.save or an MLflow model dir.")


def pyfunc_code_path() -> str:
    """The MLflow models-from-code file that wraps a saved TabularModel (for `log_model`)."""
    return str(Path(__file__).with_name("mlflow_pyfunc.py"))
