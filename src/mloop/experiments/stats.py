"""The always-valid test: a normal-mixture sequential probability ratio test (mSPRT) for the
difference of two click rates, with its confidence sequence.

A fixed-horizon test recomputed on every dashboard refresh is wrong: each look is another
chance for noise to cross the line, and peeking at a 5% test a hundred times declares a winner
in an A/A test far more often than 5% of the time. The mSPRT (Robbins 1970; Johari, Pekelis and
Walsh, "Always valid inference", 2017, the method behind Optimizely's stats engine) instead
tracks a likelihood ratio that is a martingale under "no difference": by Ville's inequality the
chance it *ever* reaches 1/alpha is at most alpha, however often and whenever one looks.

With the difference of the two rates `d = rate_b - rate_a`, its estimate `d_hat` and the
estimate's variance `V = p_a(1-p_a)/n_a + p_b(1-p_b)/n_b`, mixing the alternatives
`d ~ Normal(0, tau^2)` gives the closed form

    Lambda = sqrt(V / (V + tau^2)) * exp(tau^2 d_hat^2 / (2 V (V + tau^2)))

The always-valid p-value is the running minimum of `min(1, 1/Lambda)`; the confidence sequence
(the set of `d` the test would not reject) is

    d_hat +- sqrt(V (V + tau^2) / tau^2 * (2 log(1/alpha) + log((V + tau^2) / V)))

and it excludes 0 exactly when `1/Lambda <= alpha`. `tau` is the scale of effects one expects:
the test is most powerful for lifts around it and stays valid for any. Everything is vectorised
(arrays in, arrays out) so the simulations in the tests run thousands of looks at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

DEFAULT_TAU = 0.02  # mixing scale: lifts of about two points of click rate (10% -> 12%)

Floats = NDArray[np.float64]


@dataclass(frozen=True)
class Evidence:
    """The test at one look (arrays when the inputs were arrays)."""

    effect: Floats  # rate_b - rate_a
    lower: Floats  # the confidence sequence at this sample
    upper: Floats
    p_value: Floats  # 1/Lambda at this look (take the running minimum over looks)


def _variance(x: Floats, n: Floats) -> Floats:
    """The variance of a rate estimate, from a rate smoothed towards 1/2 (one pseudo-click and
    one pseudo-miss): with no clicks yet, the plain plug-in would say "no variance" and any first
    click would look like certainty."""
    smoothed = (x + 1.0) / (n + 2.0)
    return smoothed * (1.0 - smoothed) / np.maximum(n, 1.0)


def msprt(x_a: ArrayLike, n_a: ArrayLike, x_b: ArrayLike, n_b: ArrayLike, *,
          tau: float = DEFAULT_TAU, alpha: float = 0.05) -> Evidence:
    """The mSPRT of "rate_b == rate_a" after `n_a`, `n_b` samples with `x_a`, `x_b` clicks.

    Args:
        x_a, n_a, x_b, n_b: clicks and samples of each variant (scalars or arrays of equal shape).
        tau: the standard deviation of the normal mixture over the difference (a rate difference).
        alpha: the error the confidence sequence is built for.

    Returns:
        Evidence: the effect estimate, the confidence sequence bounds and 1/Lambda (capped at 1).
    """
    xa, na, xb, nb = (np.asarray(v, dtype=np.float64) for v in (x_a, n_a, x_b, n_b))
    rate_a = np.divide(xa, na, out=np.zeros_like(xa), where=na > 0)
    rate_b = np.divide(xb, nb, out=np.zeros_like(xb), where=nb > 0)
    effect = rate_b - rate_a
    v = _variance(xa, na) + _variance(xb, nb)
    t2 = tau * tau
    log_lambda = 0.5 * np.log(v / (v + t2)) + t2 * effect * effect / (2.0 * v * (v + t2))
    p_value = np.minimum(1.0, np.exp(-log_lambda))
    half = np.sqrt(v * (v + t2) / t2 * (2.0 * np.log(1.0 / alpha) + np.log((v + t2) / v)))
    return Evidence(effect=effect, lower=effect - half, upper=effect + half, p_value=p_value)


def always_valid_p(p_values: ArrayLike, axis: int = -1) -> Floats:
    """The running minimum of the per-look p-values: the always-valid p-value after each look."""
    return np.minimum.accumulate(np.asarray(p_values, dtype=np.float64), axis=axis)


RUNNING, WINNER_A, WINNER_B, EQUIVALENT, EXHAUSTED = 0, 1, 2, 3, 4


def decide(evidence: Evidence, p_running: ArrayLike, n_min: ArrayLike, *, alpha: float, margin: float,
           min_samples: int, max_samples: int) -> NDArray[np.int64]:
    """The decision after each look (vectorised), given the running always-valid p-value.

    - a winner (`WINNER_A`, `WINNER_B`: the variant with the higher rate) once the always-valid
      p-value is at most alpha, i.e. the confidence sequence has left 0;
    - `EQUIVALENT` (no difference) once the confidence sequence lies inside [-margin, margin]:
      with probability at least 1 - alpha, the true difference is smaller than the margin;
    - `EXHAUSTED` (no difference) once each variant has `max_samples` without either;
    - `RUNNING` before each variant has `min_samples`, or while none of the above holds.
    """
    p = np.asarray(p_running, dtype=np.float64)
    n = np.asarray(n_min, dtype=np.float64)
    enough = n >= min_samples
    significant = enough & (p <= alpha)
    inside = enough & (evidence.lower >= -margin) & (evidence.upper <= margin)
    return np.select(
        [significant & (evidence.effect < 0), significant, inside, n >= max_samples],
        [WINNER_A, WINNER_B, EQUIVALENT, EXHAUSTED], default=RUNNING,
    ).astype(np.int64)
