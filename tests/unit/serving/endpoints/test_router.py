"""The traffic router: weighted split, sticky routing keys, explicit targets."""

from __future__ import annotations

from collections import Counter

import pytest

from mloop.serving.endpoints.router import Router

N = 10_000


@pytest.mark.parametrize("weights", [(90, 10), (80, 20), (50, 50), (70, 20, 10)])
def test_random_split_is_within_two_points_over_10000_requests(weights: tuple[int, ...]) -> None:
    router = Router([(f"v{i}", w, f"v{i}") for i, w in enumerate(weights)])
    seen = Counter(router.pick() for _ in range(N))
    for i, w in enumerate(weights):
        assert abs(seen[f"v{i}"] / N * 100 - w) <= 2, seen


def test_sticky_keys_split_by_weight_and_always_land_on_the_same_variant() -> None:
    router = Router([("production", 80, "production"), ("canary", 20, "canary")])
    first = {f"user-{i}": router.pick(f"user-{i}") for i in range(N)}
    share = Counter(first.values())["canary"] / N * 100
    assert abs(share - 20) <= 2
    assert all(router.pick(key) == variant for key, variant in list(first.items())[:2000])


def test_weight_zero_gets_nothing_but_can_be_targeted() -> None:
    router = Router([("production", 100, "p"), ("canary", 0, "c")])
    assert {router.pick() for _ in range(1000)} == {"p"}
    assert router.pick(target="canary") == "c"
    assert router.pick(target="nope") == "p"


def test_empty_router_is_falsy() -> None:
    assert not Router([("canary", 0, "c")])
    assert Router([("production", 100, "p")])
