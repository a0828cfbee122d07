"""The SageMaker container contract: `POST /invocations` with text/csv or JSON.

CSV: one record per line, no header, columns in the model's feature order. JSON: `{"instances":
[...]}` (rows as lists or objects), MLflow's `{"dataframe_split": {"columns", "data"}}` and
`{"dataframe_records": [...]}`, `{"inputs": [...]}`, or a bare list of rows. `Accept: text/csv`
returns one score per line; JSON `{"predictions": [...]}` otherwise.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from mloop.errors import InvalidInput
from mloop.serving.errors import UnsupportedMediaType
from mloop.serving.server.protocols.common import Rows, check_rows, dumps, loads_json

JSON_KEYS = ("instances", "dataframe_split", "dataframe_records", "inputs")


def parse_invocation(body: bytes, content_type: str, features: Sequence[str] | None = None) -> Rows:
    """Records from an /invocations body (`features`: the model's, in order, when known).

    Raises:
        UnsupportedMediaType: neither CSV nor JSON. InvalidInput: malformed body.
    """
    media = content_type.split(";", 1)[0].strip().lower()
    if media in ("text/csv", "application/csv", "text/plain"):
        return parse_csv(body)
    if media in ("application/json", "application/jsonlines", "") or media.endswith("+json"):
        return parse_json_records(loads_json(body), features)
    raise UnsupportedMediaType(f"unsupported content type '{media}'")


def parse_csv(body: bytes) -> Rows:
    """CSV lines -> lists of strings (the model parses and validates each value)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("CSV body is not UTF-8 text") from None
    if '"' in text:
        try:
            rows: list[Any] = [r for r in csv.reader(io.StringIO(text)) if r]
        except csv.Error as exc:
            raise InvalidInput(f"malformed CSV: {exc}") from None
    else:
        rows = [line.split(",") for line in text.splitlines() if line.strip()]
    if not rows:
        raise InvalidInput("empty CSV body; send one record per line, no header")
    return rows


def parse_json_records(doc: Any, features: Sequence[str] | None = None) -> Rows:
    """Records from the JSON shapes SageMaker and MLflow clients send."""
    if isinstance(doc, list):
        return check_rows(doc, "body")
    if not isinstance(doc, dict):
        raise InvalidInput("JSON body must be an object or a list", hint=_shapes())
    if "dataframe_split" in doc:
        return _dataframe_split(doc["dataframe_split"], features)
    for key in ("instances", "dataframe_records", "inputs"):
        if key in doc:
            return check_rows(doc[key], key)
    raise InvalidInput("JSON body has none of the keys " + ", ".join(JSON_KEYS), hint=_shapes())


def _dataframe_split(split: Any, features: Sequence[str] | None) -> Rows:
    if not isinstance(split, dict) or not isinstance(split.get("data"), list):
        raise InvalidInput("dataframe_split needs {'columns': [...], 'data': [[...], ...]}")
    columns = split.get("columns")
    rows = check_rows(split["data"], "dataframe_split.data")
    if columns is None:
        return rows
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise InvalidInput("dataframe_split.columns must be a list of column names")
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != len(columns):
            raise InvalidInput(f"dataframe_split.data[{i}] must be a list of {len(columns)} values")
    if features is not None and columns == list(features):
        return rows  # already in the model's order: no per-row dict
    return [dict(zip(columns, row, strict=True)) for row in rows]


def render_invocation(predictions: list[Any], accept: str,
                      input_issues: dict[str, Any] | None = None) -> tuple[bytes, bytes]:
    """(body, content type) for predictions, honouring `Accept: text/csv` (input issues: JSON only;
    a CSV answer carries them in its header alone)."""
    if accept.startswith("text/csv"):
        lines = [",".join(map(repr, p)) if isinstance(p, list) else repr(p) for p in predictions]
        return ("\n".join(lines) + "\n").encode(), b"text/csv"
    if input_issues:
        return dumps({"predictions": predictions, "input_issues": input_issues}), b"application/json"
    return dumps({"predictions": predictions}), b"application/json"


def effective_accept(content_type: str, accept: str) -> str:
    """The answer format SageMaker Runtime callers get: with no Accept (or `*/*`) a CSV request
    is answered in CSV, one score per line, as SageMaker's built-in XGBoost does."""
    if accept and not accept.startswith("*/*"):
        return accept
    media = content_type.split(";", 1)[0].strip().lower()
    return "text/csv" if media in ("text/csv", "application/csv") else accept


def _shapes() -> str:
    return ('Send {"instances": [[...]]}, {"dataframe_split": {"columns": [...], "data": [[...]]}}, '
            '{"dataframe_records": [{...}]} or Content-Type: text/csv.')
