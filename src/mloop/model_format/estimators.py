"""The estimators a TabularModel can hold: XGBoost (native Booster) and scikit-learn RandomForest.

Each one fits on an encoded float matrix, predicts scores (P(class 1) for binary classifiers, a
probability matrix for multi-class, values for regressors) and saves to / loads from a directory
without pickle: XGBoost as its JSON model, RandomForest through skops with a type allow-list.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from mloop.errors import IntegrityError, InvalidInput, did_you_mean
from mloop.model_format.forest import FlatBooster, FlatForest

if TYPE_CHECKING:
    import numpy as np

XGB_FILE = "model.xgb.json"
SKOPS_FILE = "model.skops"
# skops refuses unknown types; these are the modules a fitted forest is made of.
_TRUSTED_PREFIXES = ("sklearn.", "numpy.", "builtins.")
# Up to this many rows the flat numpy forest wins; beyond, scikit-learn's compiled loops do.
_FLAT_MAX_ROWS = 512
# XGBoost's per-call setup dominates up to ~10 rows; beyond, its compiled predictor wins.
_FLAT_BOOSTER_MAX_ROWS = 8


class XGBoostEstimator:
    """Gradient-boosted trees through xgboost's native Booster (fast single-row inplace_predict)."""

    kind: ClassVar[str] = "xgboost"
    defaults: ClassVar[dict[str, Any]] = {"n_estimators": 100, "max_depth": 6, "learning_rate": 0.1}

    def __init__(self, booster: Any, task: str, n_classes: int) -> None:
        self.booster = booster
        self.task = task
        self.n_classes = n_classes
        # One thread: single-row latency and tail latency under concurrency (see issue 6).
        self.booster.set_param({"nthread": 1})
        self._dense = _dense_predictor(booster)
        self._flat = _flat_booster(booster)

    @classmethod
    def fit(cls, X: np.ndarray, y: np.ndarray, *, task: str, n_classes: int,
            params: dict[str, Any], seed: int = 0) -> XGBoostEstimator:
        import xgboost as xgb

        opts = {**cls.defaults, **params}
        rounds = int(opts.pop("n_estimators"))
        booster_params: dict[str, Any] = {
            "max_depth": int(opts.pop("max_depth")),
            "eta": float(opts.pop("learning_rate")),
            "seed": seed,
            "tree_method": "hist",
            "verbosity": 0,
            # One thread unless asked: OpenMP threads spin when cores are shared, and a loaded
            # 2-core machine trained 10x slower with two threads than with one.
            "nthread": 1,
        }
        if task == "regression":
            booster_params.update(objective="reg:squarederror", eval_metric="rmse")
        elif n_classes == 2:
            booster_params.update(objective="binary:logistic", eval_metric="logloss")
        else:
            booster_params.update(objective="multi:softprob", num_class=n_classes, eval_metric="mlogloss")
        booster_params.update(opts)  # anything else is a native XGBoost parameter
        try:
            booster = xgb.train(booster_params, xgb.DMatrix(X, label=y), num_boost_round=rounds)
        except xgb.core.XGBoostError as exc:
            raise InvalidInput(f"XGBoost could not train: {str(exc).splitlines()[0]}") from exc
        return cls(booster, task, n_classes)

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self._flat is not None and X.shape[0] <= _FLAT_BOOSTER_MAX_ROWS:
            return self._flat.predict(X)
        if self._dense is not None:
            return self._dense(X)
        return self.booster.inplace_predict(X, validate_features=False)

    def importances(self, width: int) -> list[float]:
        scores = self.booster.get_score(importance_type="gain")
        raw = [float(scores.get(f"f{i}", 0.0)) for i in range(width)]
        total = sum(raw) or 1.0
        return [v / total for v in raw]

    def save(self, directory: Path) -> str:
        self.booster.save_model(str(directory / XGB_FILE))
        return XGB_FILE

    @classmethod
    def load(cls, directory: Path, task: str, n_classes: int) -> XGBoostEstimator:
        import xgboost as xgb

        booster = xgb.Booster()
        try:
            booster.load_model(str(directory / XGB_FILE))
        except xgb.core.XGBoostError as exc:
            raise IntegrityError(f"{directory / XGB_FILE} is not a valid XGBoost model") from exc
        return cls(booster, task, n_classes)


def _flat_booster(booster: Any) -> Any:
    """The numpy evaluator of small batches (`forest.FlatBooster`), or None to use XGBoost's."""
    return FlatBooster.from_booster(booster, booster.num_features())


def _dense_predictor(booster: Any) -> Any:
    """XGBoosterPredictFromDense called directly: half the cost of `inplace_predict` for one row.

    `inplace_predict` spends ~60 us per call in Python (it builds a class per call to wrap the
    output); the C call is the same. Returns None (use `inplace_predict`) when the private
    ctypes surface of this xgboost version is not the expected one.
    """
    import ctypes

    import numpy as np

    try:
        from xgboost.core import _LIB, _check_call, c_bst_ulong, make_jcargs

        args = make_jcargs(type=0, training=False, iteration_begin=0, iteration_end=0,
                           missing=float("nan"), strict_shape=False, cache_id=0)
        predict_dense = _LIB.XGBoosterPredictFromDense
    except (ImportError, AttributeError):
        return None
    no_proxy = ctypes.c_void_p()

    def predict(X: np.ndarray) -> np.ndarray:
        X = np.ascontiguousarray(X, dtype=np.float64)
        if X.shape[0] == 0:
            return booster.inplace_predict(X, validate_features=False)
        interface = b'{"data":[%d,true],"shape":[%d,%d],"strides":null,"typestr":"<f8","version":3}' % (
            X.ctypes.data, X.shape[0], X.shape[1])
        out = ctypes.POINTER(ctypes.c_float)()
        shape = ctypes.POINTER(c_bst_ulong)()
        dims = c_bst_ulong()
        _check_call(predict_dense(booster.handle, interface, args, no_proxy, ctypes.byref(shape),
                                  ctypes.byref(dims), ctypes.byref(out)))
        dims_tuple = tuple(int(shape[i]) for i in range(dims.value))
        size = 1
        for d in dims_tuple:
            size *= d
        if size == 0:
            return np.zeros(dims_tuple, dtype=np.float32)
        # The buffer is the booster's thread-local scratch: copy before the next call.
        return np.ctypeslib.as_array(out, shape=(size,)).reshape(dims_tuple).copy()

    return predict


class RandomForestEstimator:
    """scikit-learn RandomForest{Classifier,Regressor}, saved with skops (no pickle)."""

    kind: ClassVar[str] = "random_forest"
    defaults: ClassVar[dict[str, Any]] = {"n_estimators": 100, "max_depth": None}

    def __init__(self, model: Any, task: str, n_classes: int) -> None:
        self.model = model
        self.task = task
        self.n_classes = n_classes
        self.model.n_jobs = None  # thread pools cost more than they save for small batches
        self._flat = _flatten(model, task)

    @classmethod
    def fit(cls, X: np.ndarray, y: np.ndarray, *, task: str, n_classes: int,
            params: dict[str, Any], seed: int = 0) -> RandomForestEstimator:
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

        opts = {**cls.defaults, **params}
        opts.pop("learning_rate", None)  # shared parameter tables may carry XGBoost's
        if opts.get("max_depth") in (0, "", "none", "None"):
            opts["max_depth"] = None
        factory = RandomForestRegressor if task == "regression" else RandomForestClassifier
        try:
            model = factory(random_state=seed, n_jobs=-1, **opts)
        except TypeError as exc:
            raise InvalidInput(f"RandomForest parameter not understood: {exc}") from exc
        model.fit(X, y)
        return cls(model, task, n_classes)

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self._flat is not None and X.shape[0] <= _FLAT_MAX_ROWS:
            out = self._flat.predict(X)
        elif self.task == "regression":
            out = self.model.predict(X)
        else:
            out = self.model.predict_proba(X)
        if self.task == "regression":
            return out
        return out[:, 1] if self.n_classes == 2 else out

    def importances(self, width: int) -> list[float]:
        return [float(v) for v in self.model.feature_importances_]

    def save(self, directory: Path) -> str:
        import skops.io

        skops.io.dump(self.model, directory / SKOPS_FILE)
        return SKOPS_FILE

    @classmethod
    def load(cls, directory: Path, task: str, n_classes: int) -> RandomForestEstimator:
        import skops.io

        path = directory / SKOPS_FILE
        try:
            untrusted = skops.io.get_untrusted_types(file=path)
        except Exception as exc:  # skops raises assorted errors for a corrupt archive
            raise IntegrityError(f"{path} is not a valid skops file: {exc}") from exc
        refused = [t for t in untrusted if not t.startswith(_TRUSTED_PREFIXES)]
        if refused:
            raise IntegrityError(f"{path} contains types mloop does not load: {', '.join(refused)}")
        return cls(skops.io.load(path, trusted=untrusted), task, n_classes)


def _flatten(model: Any, task: str) -> Any:
    """The numpy evaluator of a fitted forest; None (use scikit-learn) for unusual shapes."""
    if getattr(model, "n_outputs_", 1) != 1:
        return None
    try:
        return FlatForest(model, classifier=task != "regression")
    except (AttributeError, ValueError, IndexError):
        return None


ESTIMATORS: dict[str, Any] = {
    "xgboost": XGBoostEstimator,
    "random_forest": RandomForestEstimator,
}
ALIASES = {"xgb": "xgboost", "rf": "random_forest", "randomforest": "random_forest",
           "random-forest": "random_forest"}


def estimator_class(name: str) -> Any:
    """The estimator class for a name (`xgboost`, `random_forest`, or an alias)."""
    key = ALIASES.get(name.lower(), name.lower())
    if key not in ESTIMATORS:
        raise InvalidInput(f"unknown estimator '{name}'", hint=did_you_mean(name, ESTIMATORS))
    return ESTIMATORS[key]
