"""Prometheus metrics of a model server: requests, errors and latency per variant.

With several workers, set up by `mloop serve --workers N`, the metrics live in
PROMETHEUS_MULTIPROC_DIR and `/metrics` aggregates every worker's.
"""

from __future__ import annotations

import os
from typing import Any

LATENCY_BUCKETS = (0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class ServerMetrics:
    """The metric families of one server process."""

    def __init__(self, endpoint: str) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.endpoint = endpoint
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ["endpoint", "variant", "model", "version"]
        self.requests = Counter("mloop_requests", "Prediction requests by status code.",
                                [*labels, "code"], registry=self.registry)
        self.errors = Counter("mloop_request_errors", "Failed prediction requests (kind: client|model).",
                              [*labels, "kind"], registry=self.registry)
        self.latency = Histogram("mloop_request_latency_seconds", "Prediction latency.", labels,
                                 buckets=LATENCY_BUCKETS, registry=self.registry)
        self.generation = Gauge("mloop_endpoint_generation", "Configuration generation being served.",
                                ["endpoint"], registry=self.registry, multiprocess_mode="max")
        self.weight = Gauge("mloop_variant_weight", "Traffic weight of each variant.", labels,
                            registry=self.registry, multiprocess_mode="max")
        self._children: dict[tuple[Any, ...], Any] = {}

    def observe(self, variant: str, model: str, version: str, code: int, latency_s: float) -> None:
        """Record one request (label children cached: this runs on every request)."""
        key = (variant, model, version, code)
        children = self._children.get(key)
        if children is None:
            base = (self.endpoint, variant, model, version)
            kind = "model" if code >= 500 else "client" if code >= 400 else None
            children = (self.requests.labels(*base, str(code)), self.latency.labels(*base),
                        self.errors.labels(*base, kind) if kind else None)
            self._children[key] = children
        children[0].inc()
        children[1].observe(latency_s)
        if children[2] is not None:
            children[2].inc()

    def render(self) -> tuple[bytes, str]:
        """The exposition text (all workers' when running multi-process)."""
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
