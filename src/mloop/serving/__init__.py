"""Endpoints: the model server (SageMaker, KServe V1, Open Inference V2), endpoint/variant records,
the traffic router, hot swap, guardrails, shadow variants and their comparison, auto-deploy of
Approved versions and the KServe export.

Library entry points take the workspace first; `create_app(ws, endpoint)` is the server.
"""

from mloop.serving.app import create_app
from mloop.serving.compare import compare
from mloop.serving.endpoints import (
    Endpoint,
    Variant,
    deploy,
    get_endpoint,
    history,
    list_endpoints,
    promote,
    rollback,
    set_follow,
    set_weights,
)
from mloop.serving.errors import EndpointNotFound, NotApproved
from mloop.serving.prediction_log import read_log
from mloop.serving.router import Router
from mloop.serving.serve import served_url
from mloop.serving.shadow import deploy_shadow

__all__ = [
    "Endpoint", "EndpointNotFound", "NotApproved", "Router", "Variant", "compare", "create_app", "deploy",
    "deploy_shadow", "get_endpoint", "history", "list_endpoints", "promote", "read_log", "rollback", "served_url",
    "set_follow", "set_weights",
]
