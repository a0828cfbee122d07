"""Failed dashboard logins are rate-limited per client address and per principal.

A token is 32 random bytes, so guessing one is hopeless; the limit is what keeps it hopeless
(and keeps a guessing client from costing a database lookup per attempt). After
`[auth] login_failures_per_minute` failures in a moving minute, a client address gets 429 with
`Retry-After` until the oldest failure leaves the window. A failure counts against a principal
too when the wrong token starts like one of theirs (the 10-character hint `mloop auth tokens
list` shows): someone completing a leaked prefix is stopped even from many addresses. Counters
live in this process (the control plane is one process); `limits` keeps the moving windows.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from mloop.errors import MloopError


class TooManyLogins(MloopError):
    code = "too_many_logins"
    http_status = 429
    hint = "Wait a minute, then log in with a valid token (`mloop auth tokens create`)."

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LoginThrottle:
    """Moving-window counters of failed logins, keyed by client address and by principal."""

    def __init__(self, failures_per_minute: int) -> None:
        self.item = RateLimitItemPerMinute(failures_per_minute)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def check(self, address: str, principals: Iterable[str] = ()) -> None:
        """Refuse a login attempt from `address` (or for `principals`) that used up its failures.

        Raises:
            TooManyLogins: with the seconds until the next attempt may succeed.
        """
        for kind, key in (("address", address), *(("principal", p) for p in sorted(principals))):
            if not self.limiter.test(self.item, kind, key):
                reset = self.limiter.get_window_stats(self.item, kind, key).reset_time
                wait = max(1, math.ceil(reset - time.time()))
                whom = "from this address" if kind == "address" else "for this principal"
                raise TooManyLogins(f"too many failed logins {whom}; try again in {wait} s", wait)

    def failed(self, address: str, principals: Iterable[str] = ()) -> None:
        """Count one failed login from `address` (and against each of `principals`)."""
        self.limiter.hit(self.item, "address", address)
        for name in principals:
            self.limiter.hit(self.item, "principal", name)
