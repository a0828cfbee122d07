"""JSON Schemas of the lineage responses: seed 004's format (plus mloop's additions), model,
endpoint and artifact lineage. Published in the OpenAPI description and checked in tests
against real responses, so the contract cannot drift silently.
"""

from __future__ import annotations

import copy
from typing import Any

_STR = {"type": "string"}
_NSTR = {"type": ["string", "null"]}
_NUM = {"type": ["number", "null"]}
_TIME = {"type": ["string", "null"], "description": "ISO 8601, UTC"}
_STATUS = {"type": "string", "description": "Pending, Executing, Succeeded, Failed, Cached, Skipped, Stopped"}

_IO = {
    "type": "object", "required": ["name", "uri"],
    "properties": {"name": _STR, "uri": _NSTR, "digest": _NSTR, "from": _NSTR},
}

_STORAGE = {
    "type": "object", "required": ["encryption", "versioning", "publicAccess", "tags"],
    "properties": {
        "encryption": _STR, "versioning": _STR, "publicAccess": _STR,
        "tags": {"type": "object", "additionalProperties": _STR},
        "reasons": {"type": "object", "additionalProperties": _STR},
    },
}

_RUN = {
    "type": ["object", "null"],
    "required": ["status", "startTime", "endTime", "elapsedSec", "jobArn", "metrics"],
    "properties": {
        "status": _STATUS, "startTime": _TIME, "endTime": _TIME, "elapsedSec": _NUM, "jobArn": _STR,
        "metrics": {"type": "object", "additionalProperties": {"type": ["number", "null"]}},
        "cached": {"type": "boolean"}, "cachedFrom": _NSTR, "attempts": {"type": "integer"},
        "error": _NSTR, "message": _NSTR,
    },
}

NODE = {
    "type": "object", "required": ["id", "type", "inputs", "outputs", "run"],
    "properties": {
        "id": _STR, "type": _STR, "inputs": {"type": "array", "items": _IO},
        "outputs": {"type": "array", "items": _IO}, "run": _RUN,
    },
}

EDGE = {
    "type": "object", "required": ["from", "to", "via"],
    "properties": {
        "from": _STR, "to": _STR,
        "via": {"enum": ["dependsOn", "ref:Get", "condition"]},
        "branch": {"enum": ["true", "false"]}, "name": _STR,
    },
}

ARTIFACT = {
    "type": "object", "required": ["id", "uri", "bucket", "key"],
    "properties": {
        "id": {"type": "integer"}, "uri": _STR, "bucket": _STR, "key": _STR, "digest": _STR,
        "size": {"type": ["integer", "null"]}, "type": _NSTR, "s3": _STORAGE, "storage": _STORAGE,
    },
}

LINEAGE = {
    "type": "object", "required": ["pipeline", "summary", "graph"],
    "properties": {
        "pipeline": {
            "type": "object", "required": ["name", "arn", "lastModifiedTime"],
            "properties": {"name": _STR, "arn": _STR, "lastModifiedTime": _TIME},
        },
        "summary": {
            "type": "object", "required": ["overallStatus", "nodeStatus", "elapsedSec"],
            "properties": {
                "overallStatus": _STR,
                "nodeStatus": {"type": "object", "additionalProperties": {"type": "integer"}},
                "elapsedSec": _NUM,
            },
        },
        "graph": {
            "type": "object", "required": ["nodes", "edges", "artifacts"],
            "properties": {
                "nodes": {"type": "array", "items": NODE},
                "edges": {"type": "array", "items": EDGE},
                "artifacts": {"type": "array", "items": ARTIFACT},
            },
        },
        "execution": {"type": ["object", "null"]},
    },
}

_REF_RUN = {
    "type": ["object", "null"], "required": ["pipeline", "runId", "status"],
    "properties": {"pipeline": _STR, "runId": _STR, "status": _STATUS, "step": _NSTR, "jobArn": _NSTR},
}

MODEL = {
    "type": "object",
    "required": ["model", "approvals", "run", "data", "featureGroups", "deployments"],
    "properties": {
        "model": {"type": "object", "required": ["name", "version", "status"],
                  "properties": {"name": _STR, "version": {"type": "integer"}, "status": _STR}},
        "approvals": {"type": "array", "items": {"type": "object"}},
        "run": _REF_RUN,
        "data": {"type": "array", "items": {"type": "object", "required": ["name", "uri"]}},
        "featureGroups": {"type": "array", "items": {"type": "object", "required": ["name"]}},
        "deployments": {"type": "array", "items": {"type": "object", "required": ["endpoint", "variant"]}},
        "triggeredBy": {"type": "array", "items": {
            "type": "object", "required": ["node", "relation", "target"],
            "properties": {"node": _STR, "relation": _STR, "target": _STR, "detail": {"type": "object"},
                           "at": _TIME}}},
    },
}

ENDPOINT = {
    "type": "object", "required": ["endpoint", "variants"],
    "properties": {
        "endpoint": {"type": "object", "required": ["name"], "properties": {"name": _STR}},
        "variants": {"type": "array", "items": {
            "type": "object", "required": ["variant", "weight", "model", "version", "lineage"],
        }},
    },
}

ARTIFACT_LINEAGE = {
    "type": "object", "required": ["artifact", "producer", "consumers"],
    "properties": {
        "artifact": ARTIFACT, "producer": _REF_RUN,
        "consumers": {"type": "array", "items": {"type": "object", "required": ["pipeline", "runId"]}},
    },
}

_COMPONENTS = {"lineage": LINEAGE, "model": MODEL, "endpoint": ENDPOINT, "artifact": ARTIFACT_LINEAGE}


def component(name: str) -> dict[str, Any]:
    """A copy of one response schema: lineage, model, endpoint or artifact."""
    return copy.deepcopy(_COMPONENTS[name])
