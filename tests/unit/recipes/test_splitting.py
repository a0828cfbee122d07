"""The stratified random split (`recipes.splitting.split_indices`)."""

from __future__ import annotations

import numpy as np

from mloop.recipes.splitting import split_indices


def test_stratified_split_keeps_class_shares() -> None:
    labels = np.array(["a"] * 900 + ["b"] * 100)
    train, test = split_indices(labels, 1000, 0.2, seed=1)
    assert len(test) == 200 and len(train) == 800
    assert set(train).isdisjoint(test) and len(set(train) | set(test)) == 1000
    assert (labels[test] == "b").sum() == 20
    again = split_indices(labels, 1000, 0.2, seed=1)
    assert (again[1] == test).all()
    plain_train, plain_test = split_indices(None, 10, 0.3, seed=0)
    assert len(plain_test) == 3 and len(plain_train) == 7
