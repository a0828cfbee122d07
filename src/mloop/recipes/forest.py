"""A fitted scikit-learn forest flattened into numpy arrays, evaluated for all trees at once.

scikit-learn's `predict` walks trees one Python call at a time (and through joblib): ~10 ms for
one row of a 100-tree forest. Here every tree advances one level per numpy step, so a row costs
tens of microseconds. The comparisons are scikit-learn's (float32 inputs, `<=` float64
thresholds), so predictions match `predict` / `predict_proba` to rounding (~1e-12).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


class FlatForest:
    """All trees' nodes in flat arrays; `predict(X)` averages the leaves the rows reach."""

    def __init__(self, forest: Any, classifier: bool) -> None:
        import numpy as np

        features, thresholds, lefts, rights, values, roots = [], [], [], [], [], []
        offset, depth = 0, 0
        for estimator in forest.estimators_:
            tree = estimator.tree_
            count = tree.node_count
            leaf = tree.children_left < 0
            features.append(np.where(leaf, 0, tree.feature).astype(np.intp))
            thresholds.append(np.where(leaf, np.inf, tree.threshold))
            # a leaf points to itself, so finished rows stay put while deeper trees advance
            own = np.arange(count) + offset
            lefts.append(np.where(leaf, own, tree.children_left + offset))
            rights.append(np.where(leaf, own, tree.children_right + offset))
            values.append(_leaf_values(tree.value, classifier))
            roots.append(offset)
            offset += count
            depth = max(depth, int(tree.max_depth))
        self.feature = np.concatenate(features)
        self.threshold = np.concatenate(thresholds)
        self.left = np.concatenate(lefts)
        self.right = np.concatenate(rights)
        self.value = np.concatenate(values)
        self.roots = np.array(roots, dtype=np.intp)
        self.depth = depth

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Mean leaf value over trees: (rows,) for regression, (rows, classes) for proba."""
        import numpy as np

        Xf = np.asarray(X, dtype=np.float32)
        rows = np.arange(Xf.shape[0])[:, None]
        nodes = np.broadcast_to(self.roots, (Xf.shape[0], len(self.roots)))
        for _ in range(self.depth):
            go_left = Xf[rows, self.feature[nodes]] <= self.threshold[nodes]
            nodes = np.where(go_left, self.left[nodes], self.right[nodes])
        return self.value[nodes].mean(axis=1)


def _leaf_values(value: np.ndarray, classifier: bool) -> np.ndarray:
    import numpy as np

    if not classifier:
        return value[:, 0, 0].astype(np.float64)
    counts = value[:, 0, :].astype(np.float64)
    total = counts.sum(axis=1, keepdims=True)
    return counts / np.where(total == 0, 1.0, total)
