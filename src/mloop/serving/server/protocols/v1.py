"""KServe V1 (TensorFlow Serving style): `{"instances": [...]}` -> `{"predictions": [...]}`."""

from __future__ import annotations

from typing import Any

from mloop.errors import InvalidInput
from mloop.serving.server.protocols.common import Rows, check_rows, dumps, loads_json


def parse_v1(body: bytes) -> Rows:
    """Records from a V1 predict body (`instances`, or `inputs` as some clients send)."""
    doc = loads_json(body)
    if not isinstance(doc, dict):
        raise InvalidInput('V1 predict body must be an object: {"instances": [...]}')
    for key in ("instances", "inputs"):
        if key in doc:
            return check_rows(doc[key], key)
    raise InvalidInput('V1 predict body needs "instances": a list of rows (lists or objects)')


def render_v1(predictions: list[Any], input_issues: dict[str, Any] | None = None) -> bytes:
    """`{"predictions": [...]}`, plus `input_issues` when the records held what the model never saw."""
    if input_issues:
        return dumps({"predictions": predictions, "input_issues": input_issues})
    return dumps({"predictions": predictions})
