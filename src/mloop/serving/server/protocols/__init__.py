"""Wire formats: parse request bodies into raw records and render predictions.

Pure functions over bytes and Python values (no framework), so the server's hot path stays lean
and the formats can be tested on their own. Errors are `InvalidInput` (400) or
`UnsupportedMediaType` (415) with a message that says what was expected.

`parse` is the one dispatch from a protocol's name to its parser: the handler calls it for a
caller's request, the shadow worker (`runtime.shadow_tap`) for the copy a shadow gets.
"""

from __future__ import annotations

from typing import Any, Protocol

from mloop.serving.server.protocols.common import loads_json
from mloop.serving.server.protocols.sagemaker import parse_invocation, render_invocation
from mloop.serving.server.protocols.v1 import parse_v1, render_v1
from mloop.serving.server.protocols.v2 import parse_v2, render_v2

SAGEMAKER, V1, V2 = "sagemaker", "v1", "v2"


class Body(Protocol):
    """What `parse` reads of a request (a handler `Request`, or a shadow's copy of one)."""

    protocol: str
    body: bytes
    content_type: str


class Model(Protocol):
    """What `parse` reads of the model: its raw inputs, in order."""

    feature_names: list[str]


def parse(req: Body, model: Model) -> tuple[list[Any], Any]:
    """(raw records, what the renderer needs back: the V2 request's id and outputs, else None)."""
    if req.protocol == SAGEMAKER:
        return parse_invocation(req.body, req.content_type, model.feature_names), None
    if req.protocol == V1:
        return parse_v1(req.body), None
    rows, request_id, outputs = parse_v2(req.body, model.feature_names)
    return rows, (request_id, outputs)


__all__ = [
    "SAGEMAKER", "V1", "V2", "loads_json", "parse", "parse_invocation", "parse_v1", "parse_v2", "render_invocation",
    "render_v1", "render_v2",
]
