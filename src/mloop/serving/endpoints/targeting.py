"""Who may pin a request to a variant with `X-Mloop-Target-Variant`.

Picking the canary by header lets a caller aim traffic (and so the guardrail's judgement) at one
variant, so it needs a token with the deployer role, unless `serving.allow_target_variant` is set
(tests, benchmarks). A token's answer is cached briefly: the header is rare, the hot path is not.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from mloop.auth import ensure_tokens_migrated, lookup
from mloop.auth.tokens import digest
from mloop.errors import PermissionDenied, Unauthenticated

if TYPE_CHECKING:
    from mloop.store import Workspace

ROLE = "deployer"
CACHE_SECONDS = 30.0
HEADER = "X-Mloop-Target-Variant"


class TargetGate:
    """Checks the Authorization header of a request that names a target variant."""

    def __init__(self, ws: Workspace | None, allow_all: bool) -> None:
        self.ws = ws
        self.allow_all = allow_all
        self._cache: dict[str, tuple[float, str | None]] = {}  # token digest -> (expiry, refusal)
        self._lock = threading.Lock()

    def check(self, authorization: str | None) -> None:
        """Return when the caller may pick a variant.

        Raises:
            Unauthenticated: no bearer token, or an unknown one.
            PermissionDenied: the token's role is below deployer.
        """
        if self.allow_all:
            return
        token = _bearer(authorization)
        if token is None or self.ws is None:
            raise Unauthenticated(f"choosing a variant with {HEADER} needs a bearer token with role '{ROLE}'",
                                  hint="Send `Authorization: Bearer <token>` of a deployer, or drop the header.")
        key, now = digest(token), time.monotonic()
        with self._lock:
            cached = self._cache.get(key)
        if cached is None or cached[0] < now:
            cached = (now + CACHE_SECONDS, self._refusal(token))
            with self._lock:
                if len(self._cache) > 1000:
                    self._cache.clear()
                self._cache[key] = cached
        if cached[1] == "unknown":
            raise Unauthenticated("unknown or revoked bearer token")
        if cached[1]:
            raise PermissionDenied(cached[1], hint="Use a token whose role is deployer or admin.")

    def _refusal(self, token: str) -> str | None:
        assert self.ws is not None
        ensure_tokens_migrated(self.ws)
        found = lookup(self.ws, token)
        if found is None:
            return "unknown"
        who = found[1]
        return None if who.can(ROLE) else (
            f"principal '{who.name}' has role '{who.role}'; choosing a variant with {HEADER} needs '{ROLE}'")


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None
