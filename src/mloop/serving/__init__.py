"""Endpoints: the model server (SageMaker, KServe V1, Open Inference V2), endpoint/variant records,
the traffic router, hot swap, guardrails, shadow variants and their comparison, auto-deploy of
Approved versions and the KServe export.

Three subpackages: `server/` (the HTTP server), `endpoints/` (the configuration records and
the operations on them) and `runtime/` (what a server process serves right now: hot swap,
guardrails, shadows, the model cache). The server uses the runtime, the runtime follows the
endpoints' records; `tables.py` (private), `queries.py` (for the packages above) and `errors.py`
belong to all three.

Library entry points take the workspace first; `create_app(ws, endpoint)` is the server.
"""

from mloop.serving.endpoints.compare import compare
from mloop.serving.endpoints.deploy import deploy, promote, rollback, set_follow, set_weights
from mloop.serving.endpoints.prediction_log import read_log
from mloop.serving.endpoints.records import Endpoint, Variant, get_endpoint, history, list_endpoints
from mloop.serving.endpoints.router import Router
from mloop.serving.endpoints.shadow import deploy_shadow
from mloop.serving.errors import EndpointNotFound, NotApproved
from mloop.serving.server.app import create_app
from mloop.serving.server.serve import served_url

__all__ = [
    "Endpoint", "EndpointNotFound", "NotApproved", "Router", "Variant", "compare", "create_app", "deploy",
    "deploy_shadow", "get_endpoint", "history", "list_endpoints", "promote", "read_log", "rollback", "served_url",
    "set_follow", "set_weights",
]
