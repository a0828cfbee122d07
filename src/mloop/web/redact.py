"""What callers without a token see of a failure: its error code and a generic message.

A step's error quotes what went wrong, which can be the data it read (a CSV line, a file's first
bytes, a server-side path). Anonymous readers get `InvalidInput (details need a viewer token)`;
any token, even a viewer's, sees the full text.
"""

from __future__ import annotations

import re
from typing import Any

GENERIC = "details need a viewer token"
_CODE = re.compile(r"\b([A-Z][A-Za-z0-9_]{1,80})\s*:")
_STEP = re.compile(r"^step '([^']{1,200})' failed")


def failure(text: str | None) -> str | None:
    """`text` reduced to the step it names (if any), its error code and a generic message."""
    if not text:
        return text
    match = _CODE.search(text)
    code = match.group(1) if match else "StepFailed"
    step = _STEP.match(text)
    prefix = f"step '{step.group(1)}' failed: " if step else ""
    return f"{prefix}{code} ({GENERIC})"


def lineage(data: Any) -> Any:
    """A copy of a lineage answer whose every `error` string is reduced (the input is cached: no
    change in place)."""
    if isinstance(data, dict):
        return {k: failure(v) if k == "error" and isinstance(v, str) else lineage(v) for k, v in data.items()}
    if isinstance(data, list):
        return [lineage(v) for v in data]
    return data


def for_caller(data: Any, authenticated: bool) -> Any:
    """`data` as this caller may see it: whole with a token, reduced without."""
    return data if authenticated else lineage(data)
