"""The always-valid test against simulations with known truth.

Each simulated experiment is looked at after every 100 samples per variant up to 20,000, the way a
dashboard refreshed all day looks at it. A fixed-horizon test would declare a winner in far more
than alpha of the A/A experiments; the mSPRT must stay at alpha, and with a real 10% -> 12% lift
it must find the better variant by the sample size docs/experiments.md states.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from mloop.experiments import stats

RUNS, STEP, HORIZON, ALPHA = 500, 100, 20_000, 0.05
MIN_SAMPLES = 1000  # the CLI default
POWER_N = 7_000  # per variant: docs/experiments.md, "80% power at 10% -> 12%"


def _simulate(rate_a: float, rate_b: float, seed: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(final decision, samples per variant when it was made) of RUNS experiments, all at once."""
    rng = np.random.default_rng(seed)
    looks = HORIZON // STEP
    clicks_a = rng.binomial(STEP, rate_a, (RUNS, looks)).cumsum(axis=1)
    clicks_b = rng.binomial(STEP, rate_b, (RUNS, looks)).cumsum(axis=1)
    n = np.broadcast_to(np.arange(1, looks + 1) * STEP, clicks_a.shape)
    ev = stats.msprt(clicks_a, n, clicks_b, n, alpha=ALPHA)
    p = stats.always_valid_p(np.where(n >= MIN_SAMPLES, ev.p_value, 1.0))
    decisions = stats.decide(ev, p, n, alpha=ALPHA, margin=0.01, min_samples=MIN_SAMPLES,
                             max_samples=HORIZON)
    decided = decisions != stats.RUNNING
    first = np.where(decided.any(axis=1), decided.argmax(axis=1), looks - 1)  # decisions are final
    return decisions[np.arange(RUNS), first], n[np.arange(RUNS), first]


def _sampling_error(p: float) -> float:
    return 2 * float(np.sqrt(p * (1 - p) / RUNS))


def test_aa_experiments_looked_at_every_100_samples_rarely_declare_a_winner() -> None:
    decisions, _ = _simulate(0.10, 0.10, seed=7)
    winners = np.isin(decisions, [stats.WINNER_A, stats.WINNER_B]).mean()
    assert winners <= ALPHA + _sampling_error(ALPHA), f"{winners:.1%} of A/A experiments declared a winner"
    assert (decisions != stats.RUNNING).all()  # the rest end no_difference by the horizon


def test_a_fixed_horizon_z_test_peeked_at_the_same_way_would_not_hold_alpha() -> None:
    """The anchor: the classic error the sequential test exists to avoid, on the same simulation."""
    from scipy.stats import norm

    rng = np.random.default_rng(7)
    looks = HORIZON // STEP
    a = rng.binomial(STEP, 0.10, (RUNS, looks)).cumsum(axis=1)
    b = rng.binomial(STEP, 0.10, (RUNS, looks)).cumsum(axis=1)
    n = np.arange(1, looks + 1) * STEP
    pooled = (a + b) / (2 * n)
    z = (b - a) / n / np.sqrt(pooled * (1 - pooled) * 2 / n)
    peeked = (2 * norm.sf(np.abs(z)) <= ALPHA).any(axis=1).mean()
    assert peeked > 3 * ALPHA


def test_a_true_lift_from_10_to_12_percent_is_found_with_80_percent_power_by_the_documented_size() -> None:
    decisions, when = _simulate(0.10, 0.12, seed=11)
    found = (decisions == stats.WINNER_B) & (when <= POWER_N)
    assert found.mean() >= 0.80, f"power {found.mean():.1%} by {POWER_N} samples per variant"
    assert (decisions == stats.WINNER_A).mean() <= ALPHA  # the worse variant almost never wins


def test_the_confidence_sequence_excludes_zero_exactly_when_the_p_value_is_below_alpha() -> None:
    rng = np.random.default_rng(3)
    n = rng.integers(200, 20_000, 2000)
    ev = stats.msprt(rng.binomial(n, 0.1), n, rng.binomial(n, 0.115), n, alpha=ALPHA)
    outside = (ev.lower > 0) | (ev.upper < 0)
    assert np.array_equal(outside, ev.p_value <= ALPHA)
    assert ((ev.lower <= ev.effect) & (ev.effect <= ev.upper)).all()


def test_no_clicks_yet_is_no_evidence() -> None:
    ev = stats.msprt(0, 50, 0, 50)
    assert float(ev.p_value) == 1.0
    assert float(ev.lower) < 0 < float(ev.upper)
