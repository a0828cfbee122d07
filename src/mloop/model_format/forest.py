"""Fitted tree ensembles flattened into numpy arrays, evaluated for all trees at once.

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


class FlatBooster:
    """An XGBoost gbtree model in flat arrays, evaluated like `FlatForest` for small batches.

    XGBoost's own call costs ~150 us for one row on a slow core, almost all of it per-call setup
    (the trees take microseconds); here a row costs a few numpy steps per tree level. The rules
    are XGBoost's: float32 inputs, `x < threshold` goes left, a missing value (NaN) follows the
    node's default direction, leaf values summed per class on top of the base margin, then the
    objective's link (sigmoid, softmax, identity). `from_booster` checks the result against
    XGBoost on probe rows and returns None for anything it does not reproduce to 1e-6.

    Layout: XGBoost allocates a node's children as a pair (right = left + 1), so one step is
    `node = left[node] + (x >= threshold[node])`; a leaf is its own left child with an
    infinite threshold, so finished trees stay put while deeper ones advance. A missing value
    is replaced, per node, by -inf (default left) or +inf (default right).
    """

    LINKS = ("binary:logistic", "reg:logistic", "reg:squarederror", "reg:absoluteerror",
             "reg:pseudohubererror", "multi:softprob")

    def __init__(self, model: dict[str, Any]) -> None:
        import numpy as np

        learner = model["learner"]
        self.objective = learner["objective"]["name"]
        params = learner["learner_model_param"]
        self.n_classes = max(1, int(params.get("num_class", "0")))
        base = np.array([float(v) for v in params["base_score"].strip("[]").split(",")], dtype=np.float64)
        if self.objective in ("binary:logistic", "reg:logistic"):
            base = np.log(base / (1.0 - base))  # stored as a probability, added as a margin
        self.base = np.broadcast_to(base, (self.n_classes,)).copy()
        booster = learner["gradient_booster"]
        if booster["name"] != "gbtree" or self.objective not in self.LINKS:
            raise ValueError(f"unsupported booster {booster['name']} / {self.objective}")
        features, thresholds, lefts, missing, values, roots = [], [], [], [], [], []
        offset, depth = 0, 0
        for tree in booster["model"]["trees"]:
            param = tree["tree_param"]
            if any(tree["split_type"]) or int(param.get("size_leaf_vector", "1")) > 1 \
                    or param.get("num_deleted", "0") != "0":
                raise ValueError("categorical, vector-leaf or pruned-in-place trees")
            left = np.array(tree["left_children"], dtype=np.intp)
            leaf = left < 0
            if not np.array_equal(np.array(tree["right_children"])[~leaf], left[~leaf] + 1):
                raise ValueError("children are not allocated in pairs")
            cond = np.array(tree["split_conditions"], dtype=np.float32)
            features.append(np.where(leaf, 0, tree["split_indices"]).astype(np.intp))
            thresholds.append(np.where(leaf, np.float32(np.inf), cond))
            lefts.append(np.where(leaf, np.arange(len(left)), left) + offset)
            missing.append(np.where(np.array(tree["default_left"], dtype=bool) | leaf, -np.inf, np.inf))
            values.append(np.where(leaf, cond, 0).astype(np.float64))
            roots.append(offset)
            offset += len(left)
            depth = max(depth, _depth(tree["parents"]))
        self.feature = np.concatenate(features)
        self.threshold = np.concatenate(thresholds)
        self.left = np.concatenate(lefts)
        self.missing = np.concatenate(missing).astype(np.float32)
        self.value = np.concatenate(values)
        self.roots = np.array(roots, dtype=np.intp)
        self.tree_class = np.array(booster["model"]["tree_info"], dtype=np.intp)
        self.depth = depth

    @classmethod
    def from_booster(cls, booster: Any, width: int) -> FlatBooster | None:
        """The flat model of a trained Booster, or None when it cannot reproduce XGBoost's output."""
        import json

        import numpy as np

        try:
            flat = cls(json.loads(booster.save_raw("json")))
        except (KeyError, ValueError, TypeError, IndexError):
            return None
        probe = np.random.default_rng(0).normal(0, 3, size=(64, width))
        probe[::7, ::2] = np.nan
        probe[:8] = np.round(probe[:8])  # integer codes sit on split points of encoded columns
        try:
            ours = flat.predict(probe)
            theirs = booster.inplace_predict(probe, validate_features=False)
        except (ValueError, IndexError):
            return None
        if ours.shape != theirs.shape or not np.allclose(ours, theirs, rtol=0, atol=1e-6):
            return None
        return flat

    def predict(self, X: np.ndarray) -> np.ndarray:
        """XGBoost's prediction: (rows,) for one output, (rows, classes) for multi-class."""
        import numpy as np

        Xf = np.asarray(X, dtype=np.float32)
        n, width = Xf.shape
        flat = Xf.ravel()
        has_nan = bool(np.isnan(flat).any())
        base = (np.arange(n) * width)[:, None] if n > 1 else 0
        nodes = np.broadcast_to(self.roots, (n, len(self.roots))) if n > 1 else self.roots
        for _ in range(self.depth):
            x = flat.take(self.feature.take(nodes) + base)
            if has_nan:
                x = np.where(np.isnan(x), self.missing.take(nodes), x)
            nodes = self.left.take(nodes) + (x >= self.threshold.take(nodes))
        leaves = self.value.take(nodes).reshape(n, -1)
        if self.n_classes == 1:
            margin = leaves.sum(axis=1) + self.base[0]
            if self.objective in ("binary:logistic", "reg:logistic"):
                return 1.0 / (1.0 + np.exp(-margin))
            return margin
        margins = np.zeros((n, self.n_classes)) + self.base
        np.add.at(margins.T, self.tree_class, leaves.T)
        margins -= margins.max(axis=1, keepdims=True)
        odds = np.exp(margins)
        return odds / odds.sum(axis=1, keepdims=True)


def _depth(parents: list[int]) -> int:
    """Edges on the longest root-to-leaf path (nodes list their parent; the root's is huge)."""
    depth = [0] * len(parents)
    for node in range(1, len(parents)):  # XGBoost numbers a child after its parent
        depth[node] = depth[parents[node]] + 1
    return max(depth)
