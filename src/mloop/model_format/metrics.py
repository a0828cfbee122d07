"""Evaluation metrics in numpy (scikit-learn's import alone costs seconds; the XGBoost pipelines
never need it). Checked against scikit-learn in the tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


def roc_auc(y: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U with average ranks for ties); NaN for one class."""
    import numpy as np

    y = np.asarray(y).astype(bool)
    positives, negatives = int(y.sum()), int((~y).sum())
    if positives == 0 or negatives == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = np.asarray(scores)[order]
    ranks = np.empty(len(scores), dtype=np.float64)
    # average rank of each group of tied scores
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    average = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(average, counts)
    return float((ranks[y].sum() - positives * (positives + 1) / 2.0) / (positives * negatives))


def log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    """Mean negative log-likelihood; `proba` is P(class 1) (binary) or a row x class matrix."""
    import numpy as np

    p = np.clip(np.asarray(proba, dtype=np.float64), 1e-15, 1 - 1e-15)
    y = np.asarray(y).astype(int)
    if p.ndim == 1:
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    p = p / p.sum(axis=1, keepdims=True)
    return float(-np.mean(np.log(p[np.arange(len(y)), y])))


def binary_scores(y: np.ndarray, proba: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """AUC, logloss, accuracy, precision, recall and F1 for P(class 1) scores."""
    import numpy as np

    y = np.asarray(y).astype(int)
    pred = (np.asarray(proba) >= threshold).astype(int)
    tp = int(((pred == 1) & (y == 1)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"auc": roc_auc(y, proba), "logloss": log_loss(y, proba), "accuracy": float((pred == y).mean()),
            "precision": precision, "recall": recall, "f1": f1}


def multiclass_scores(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Accuracy, logloss and macro F1 for a row x class probability matrix."""
    import numpy as np

    y = np.asarray(y).astype(int)
    pred = np.argmax(proba, axis=1)
    f1s = []
    for k in range(proba.shape[1]):
        tp = int(((pred == k) & (y == k)).sum())
        denominator = int((pred == k).sum()) + int((y == k).sum())
        f1s.append(2 * tp / denominator if denominator else 0.0)
    return {"accuracy": float((pred == y).mean()), "logloss": log_loss(y, proba), "f1_macro": float(np.mean(f1s))}


def regression_scores(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """R², RMSE and MAE."""
    import numpy as np

    y, pred = np.asarray(y, dtype=np.float64), np.asarray(pred, dtype=np.float64)
    residual = float(((y - pred) ** 2).sum())
    total = float(((y - y.mean()) ** 2).sum())
    return {"r2": 1.0 - residual / total if total else float("nan"),
            "rmse": float(np.sqrt(residual / len(y))), "mae": float(np.abs(y - pred).mean())}

