"""Request bodies of the served model in the model server's OpenAPI document.

A generic `string` for `text/csv` promised that any text is a valid request, but the server
refuses a row of the wrong width or a word where a number goes (400). Once a model is loaded the
document describes that model's bodies instead: CSV rows of exactly its raw inputs (numbers where
it takes numbers, its categories or other text without separators where it takes categories, an
empty field for a missing value), and JSON records with the same per-input types; the endpoint
name of the SageMaker Runtime route is the one endpoint this server serves. These are the bodies
the server scores under the `warn` input policy (unknown categories and out-of-range numbers
are scored and reported); under `reject` those values get the documented 400 `input_rejected`.
Before a model is loaded the generic bodies stand (and the routes answer 503).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mloop.model_format import InputSpec
    from mloop.serving.runtime.served_model import ServedModel

NUMBER_TEXT = r" ?-?[0-9]{1,6}(?:\.[0-9]{1,6})? ?"
OTHER_TEXT = r"[A-Za-z_][A-Za-z0-9_ .-]{0,23}"  # no separator, quote or line break; not a number
BOOLEAN_TEXT = r"true|false|0|1"
MAX_ROWS = 5  # in the documented CSV pattern (any number of rows is accepted)
FINITE = {"type": "number", "minimum": -1e300, "maximum": 1e300}


def csv_pattern(model: ServedModel) -> str:
    """A regular expression for CSV bodies of `model`: 1-5 rows of its raw inputs."""
    fields = [_csv_field(spec) for spec in model.inputs.inputs] if model.inputs is not None else \
        [f"(?:{NUMBER_TEXT}|{OTHER_TEXT})?" for _ in model.feature_names]
    row = ",".join(fields)
    return f"^{row}(?:\\r?\\n{row}){{0,{MAX_ROWS - 1}}}\\r?\\n?$"


def _csv_field(spec: InputSpec) -> str:
    if spec.kind == "numeric":
        return f"(?:{NUMBER_TEXT})?"
    if spec.kind == "boolean":
        return f"(?:{BOOLEAN_TEXT})?"
    known = "|".join(re.escape(_csv_quoted(c)) for c in spec.categories)
    return f"(?:{known + '|' if known else ''}{OTHER_TEXT})?"


def _csv_quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\r\n') else value


def example_row(model: ServedModel) -> str:
    """One CSV row `model` scores cleanly (a known category, a number it trained on)."""
    if model.inputs is None:
        return ",".join("0" for _ in model.feature_names)
    out = []
    for spec in model.inputs.inputs:
        if spec.kind == "numeric":
            low = spec.min if spec.min is not None else 0.0
            out.append(str(int(low)) if float(low).is_integer() and abs(low) < 1e6 else f"{low:.6f}")
        elif spec.kind == "boolean":
            out.append("true")
        else:
            out.append(_csv_quoted(spec.categories[0]) if spec.categories else "")
    return ",".join(out)


def _value(spec: InputSpec | None) -> dict[str, Any]:
    """One raw input in a JSON record."""
    if spec is None:
        return {}
    if spec.kind == "numeric":
        return {"anyOf": [FINITE, {"type": "null"}, {"type": "boolean"},
                          {"type": "string", "pattern": f"^{NUMBER_TEXT}$"}]}
    if spec.kind == "boolean":
        return {"anyOf": [{"type": "boolean"}, {"type": "null"}, {"enum": [0, 1, "true", "false"]}]}
    return {"anyOf": [{"enum": list(spec.categories)}, {}]} if spec.categories else {}


def rows_schema(model: ServedModel) -> dict[str, Any]:
    """Records of `model`: lists of its raw inputs in order, or objects by input name."""
    specs: list[Any] = list(model.inputs.inputs) if model.inputs is not None else \
        [None] * len(model.feature_names)
    names = model.feature_names if model.inputs is None else [s.name for s in specs]
    as_list = {"type": "array", "prefixItems": [_value(s) for s in specs],
               "minItems": len(names), "maxItems": len(names)}
    as_object = {"type": "object", "properties": {n: _value(s) for n, s in zip(names, specs, strict=True)},
                 "anyOf": [{"required": [n]} for n in names]}
    return {"type": "array", "minItems": 1, "maxItems": 50, "items": {"oneOf": [as_list, as_object]}}


def invocation_json(model: ServedModel) -> dict[str, Any]:
    """SageMaker JSON bodies of `model`: `instances`, `dataframe_records` or `dataframe_split`."""
    rows = rows_schema(model)
    in_order = rows["items"]["oneOf"][0]
    split = {"type": "object", "required": ["columns", "data"], "properties": {
        "columns": {"const": [s.name for s in model.inputs.inputs] if model.inputs else model.feature_names},
        "data": {"type": "array", "minItems": 1, "maxItems": 50, "items": in_order}}}
    return {"type": "object", "properties": {"instances": rows, "dataframe_records": rows, "dataframe_split": split},
            "anyOf": [{"required": ["instances"]}, {"required": ["dataframe_records"]},
                      {"required": ["dataframe_split"]}]}


def document_model(schema: dict[str, Any], model: ServedModel, endpoint: str) -> None:
    """Put `model`'s request bodies (and the served endpoint's name) into `schema`, in place."""
    for path, item in schema.get("paths", {}).items():
        post = item.get("post")
        if not post or "requestBody" not in post:
            continue
        content = post["requestBody"]["content"]
        if "text/csv" in content:
            content["text/csv"] = {"schema": {"type": "string", "pattern": csv_pattern(model)},
                                   "example": example_row(model)}
            content["application/json"] = {"schema": invocation_json(model)}
        elif path.startswith("/v1/"):
            content["application/json"]["schema"]["properties"]["instances"] = rows_schema(model)
        for parameter in post.get("parameters", []):
            if parameter["name"] == "endpoint_name":
                parameter["schema"] = {"type": "string", "enum": [endpoint]}
