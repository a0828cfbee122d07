"""Driving the dashboard's HTML forms from a test client."""

from __future__ import annotations

import re


def csrf_token(html: str) -> str:
    """The CSRF token of the (first) form on a dashboard page."""
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match, html[:500]
    return match.group(1)
