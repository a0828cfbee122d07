"""Guardrails: per-variant error rate and p99 latency over a sliding window.

Latency is judged on requests of at most `max_rows` rows only: a large valid batch is slow
because it is large, and a caller sending a few of them must not be able to roll a canary back.
Every request appends (time, latency, error, rows) to its variant's window (a bounded deque: O(1) on
the hot path); the server's watcher thread judges the windows about once a second. A canary that
breaks its limits is set to weight 0, the change is recorded in the endpoint history and raised
as an alert (SageMaker's deployment guardrails, without CloudWatch).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mloop.config import ServingSettings

MAX_SAMPLES = 20_000


@dataclass(frozen=True)
class Limits:
    max_error_rate: float
    max_p99_ms: float
    window_s: float
    min_requests: int
    max_rows: int = 100

    @classmethod
    def resolve(cls, settings: ServingSettings, overrides: dict[str, Any] | None) -> Limits:
        """The settings' defaults, overridden per endpoint (`endpoints.guardrails`)."""
        o = overrides or {}
        return cls(
            max_error_rate=float(o.get("max_error_rate", settings.max_error_rate)),
            max_p99_ms=float(o.get("max_p99_ms", settings.max_p99_ms)),
            window_s=float(o.get("window_s", settings.guardrail_window_s)),
            min_requests=int(o.get("min_requests", settings.guardrail_min_requests)),
            max_rows=int(o.get("max_rows", settings.guardrail_max_rows)),
        )


@dataclass(frozen=True)
class WindowStats:
    requests: int
    errors: int
    error_rate: float
    p99_ms: float
    timed: int = 0  # requests small enough for their latency to count

    def breach(self, limits: Limits) -> str | None:
        """Why these stats break `limits`, or None."""
        if self.requests < limits.min_requests:
            return None
        if self.error_rate > limits.max_error_rate:
            return f"error rate {self.error_rate:.1%} > {limits.max_error_rate:.1%} over {self.requests} requests"
        if self.timed >= limits.min_requests and self.p99_ms > limits.max_p99_ms:
            return (f"p99 latency {self.p99_ms:.1f} ms > {limits.max_p99_ms:.1f} ms over {self.timed} requests "
                    f"of at most {limits.max_rows} rows")
        return None


class Window:
    """Recent request outcomes of one variant."""

    __slots__ = ("_samples",)

    def __init__(self) -> None:
        self._samples: deque[tuple[float, float, bool, int]] = deque(maxlen=MAX_SAMPLES)

    def add(self, now: float, latency_s: float, error: bool, rows: int = 1) -> None:
        self._samples.append((now, latency_s, error, rows))

    def stats(self, window_s: float, now: float | None = None, max_rows: int | None = None) -> WindowStats:
        """Stats over the last `window_s` seconds (older samples are dropped).

        Latency covers only requests of at most `max_rows` rows (all when None).
        """
        now = time.monotonic() if now is None else now
        horizon = now - window_s
        samples = self._samples
        while samples and samples[0][0] < horizon:
            samples.popleft()
        snapshot = list(samples)
        n = len(snapshot)
        if not n:
            return WindowStats(0, 0, 0.0, 0.0)
        errors = sum(1 for s in snapshot if s[2])
        latencies = sorted(s[1] for s in snapshot if max_rows is None or s[3] <= max_rows)
        timed = len(latencies)
        p99 = latencies[min(timed - 1, int(0.99 * timed))] * 1000.0 if timed else 0.0
        return WindowStats(n, errors, errors / n, p99, timed)
