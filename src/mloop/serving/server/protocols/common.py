"""Helpers shared by the wire formats."""

from __future__ import annotations

from typing import Any

import orjson

from mloop.errors import InvalidInput

Rows = list[Any]  # raw records: dicts by column name, or lists in feature order


def loads_json(body: bytes) -> Any:
    """Parse a JSON body; a clear 400 when it is not JSON."""
    if not body:
        raise InvalidInput("empty request body", hint="Send a JSON document.")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"malformed JSON: {exc}") from None


def check_rows(rows: Any, where: str) -> Rows:
    """`rows` must be a non-empty list of objects or lists (one record each)."""
    if not isinstance(rows, list):
        raise InvalidInput(f"{where} must be a list of records, got {type(rows).__name__}")
    if not rows:
        raise InvalidInput(f"{where} is empty; send at least one record")
    for i, row in enumerate(rows):
        if not isinstance(row, dict | list):
            # a flat list of scalars is one record (KServe/MLflow clients send that for 1 row)
            if i == 0 and all(not isinstance(v, dict | list) for v in rows):
                return [rows]
            raise InvalidInput(f"{where}[{i}] must be an object or a list, got {type(row).__name__}")
    return rows


def dumps(data: Any) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY)
