"""Wire formats: every accepted shape parses to raw records; bad input is a clear 4xx."""

from __future__ import annotations

import orjson
import pytest

from mloop.errors import InvalidInput
from mloop.serving.errors import UnsupportedMediaType
from mloop.serving.server.protocols import parse_invocation, parse_v1, parse_v2, render_invocation, render_v2

FEATURES = ["age", "device", "hour", "score"]


def j(doc: object) -> bytes:
    return orjson.dumps(doc)


def test_csv_rows_and_quoted_values() -> None:
    assert parse_invocation(b"25,ios,3,0.5\n30,web,,1\n", "text/csv") == [
        ["25", "ios", "3", "0.5"], ["30", "web", "", "1"]]
    assert parse_invocation(b'25,"a,b",3,1', "text/csv; charset=utf-8") == [["25", "a,b", "3", "1"]]


@pytest.mark.parametrize("doc", [
    {"instances": [[25, "ios", 3, 0.5]]},
    {"instances": [{"age": 25, "device": "ios", "hour": 3, "score": 0.5}]},
    {"dataframe_split": {"columns": FEATURES, "data": [[25, "ios", 3, 0.5]]}},
    {"dataframe_records": [{"age": 25, "device": "ios", "hour": 3, "score": 0.5}]},
    {"inputs": [[25, "ios", 3, 0.5]]},
    [[25, "ios", 3, 0.5]],
    {"instances": [25, "ios", 3, 0.5]},
])
def test_json_shapes(doc: object) -> None:
    rows = parse_invocation(j(doc), "application/json")
    assert len(rows) == 1
    row = rows[0]
    assert (list(row.values()) if isinstance(row, dict) else row) == [25, "ios", 3, 0.5]


def test_dataframe_split_in_feature_order_stays_lists() -> None:
    doc = j({"dataframe_split": {"columns": FEATURES, "data": [[25, "ios", 3, 0.5]]}})
    assert parse_invocation(doc, "application/json", FEATURES) == [[25, "ios", 3, 0.5]]
    shuffled = j({"dataframe_split": {"columns": FEATURES[::-1], "data": [[0.5, 3, "ios", 25]]}})
    expected = dict(zip(FEATURES, [25, "ios", 3, 0.5], strict=True))
    assert parse_invocation(shuffled, "application/json", FEATURES) == [expected]


@pytest.mark.parametrize("body, ctype, error", [
    (b"{bad", "application/json", InvalidInput),
    (b"", "application/json", InvalidInput),
    (b"{}", "application/json", InvalidInput),
    (b'{"instances": []}', "application/json", InvalidInput),
    (b'{"instances": 3}', "application/json", InvalidInput),
    (b'{"dataframe_split": {"columns": ["a"], "data": [[1, 2]]}}', "application/json", InvalidInput),
    (b"\xff\xfe", "text/csv", InvalidInput),
    (b"\n\n", "text/csv", InvalidInput),
    (b"1,2", "image/png", UnsupportedMediaType),
])
def test_bad_bodies(body: bytes, ctype: str, error: type) -> None:
    with pytest.raises(error):
        parse_invocation(body, ctype)


def test_accept_csv_renders_one_score_per_line() -> None:
    body, ctype = render_invocation([0.25, 0.5], "text/csv")
    assert (body, ctype) == (b"0.25\n0.5\n", b"text/csv")
    body, ctype = render_invocation([0.25], "*/*")
    assert orjson.loads(body) == {"predictions": [0.25]} and ctype == b"application/json"


def test_v1() -> None:
    assert parse_v1(j({"instances": [[1, "a", 2, 3]]})) == [[1, "a", 2, 3]]
    with pytest.raises(InvalidInput):
        parse_v1(j({"rows": []}))


@pytest.mark.parametrize("datatype, data", [
    ("FP32", [25.0, 1.0, 3.0, 0.5]), ("FP64", [[25.0, 1.0, 3.0, 0.5]]), ("INT64", [25, 1, 3, 0]),
    ("BYTES", ["25", "ios", "3", "0.5"]),
])
def test_v2_record_tensor(datatype: str, data: list) -> None:
    rows, rid, outs = parse_v2(j({"id": "r1", "inputs": [
        {"name": "input-0", "shape": [1, 4], "datatype": datatype, "data": data}]}), FEATURES)
    assert len(rows) == 1 and len(rows[0]) == 4 and rid == "r1" and outs is None


def test_v2_feature_tensors() -> None:
    rows, _, _ = parse_v2(j({"inputs": [
        {"name": "age", "shape": [2], "datatype": "INT64", "data": [25, 30]},
        {"name": "device", "shape": [2, 1], "datatype": "BYTES", "data": [["ios"], ["web"]]},
    ]}), FEATURES)
    assert rows == [{"age": 25, "device": "ios"}, {"age": 30, "device": "web"}]


@pytest.mark.parametrize("inputs", [
    [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3]}],  # shape/data mismatch
    [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}],  # wrong width
    [{"name": "x", "shape": [1, 4], "datatype": "INT64", "data": [1.5, 2, 3, 4]}],
    [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": ["a", 2, 3, 4]}],
    [{"name": "x", "shape": [1, 4], "datatype": "COMPLEX", "data": [1, 2, 3, 4]}],
    [{"name": "age", "shape": [1], "datatype": "FP64", "data": [1]},
     {"name": "nope", "shape": [1], "datatype": "FP64", "data": [1]}],
    [{"name": "age", "shape": [2], "datatype": "FP64", "data": [1, 2]},
     {"name": "hour", "shape": [1], "datatype": "FP64", "data": [1]}],
    [],
])
def test_v2_bad_requests(inputs: list) -> None:
    with pytest.raises(InvalidInput):
        parse_v2(j({"inputs": inputs}), FEATURES)


def test_v2_response() -> None:
    doc = orjson.loads(render_v2([0.5, 0.25], "ctr", 3, "r1", None))
    assert doc == {"model_name": "ctr", "model_version": "3", "id": "r1",
                   "outputs": [{"name": "predict", "shape": [2], "datatype": "FP64", "data": [0.5, 0.25]}]}
