"""Durations as people write them: `"90s"`, `"15m"`, `"1h"`, `"7d"` (label windows, drift
windows, cooldowns). Its own module so that servers and reports that only parse a window do not
import the interactions join and the feature store behind it."""

from __future__ import annotations

import re
from datetime import timedelta

from mloop.errors import InvalidInput

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str | float | timedelta) -> timedelta:
    """`"90s"`, `"15m"`, `"1h"`, `"7d"` (or seconds as a number) as a timedelta.

    Raises:
        InvalidInput: not a duration.
    """
    if isinstance(text, timedelta):
        return text
    if isinstance(text, int | float):
        return timedelta(seconds=float(text))
    match = _DURATION.match(str(text))
    if not match or float(match.group(1)) <= 0:
        raise InvalidInput(f"'{text}' is not a duration", hint="Use a number and a unit: 90s, 15m, 1h, 7d.")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2) or "s"])
