"""Durations as people write them."""

from __future__ import annotations

import pytest

from mloop.errors import InvalidInput
from mloop.recipes.durations import parse_duration


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("15m", 900), ("1h", 3600), ("7d", 604800), (30, 30)])
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds  # type: ignore[arg-type]


def test_bad_duration_is_clear() -> None:
    with pytest.raises(InvalidInput, match="not a duration"):
        parse_duration("soon")
