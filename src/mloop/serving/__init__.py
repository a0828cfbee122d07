"""Endpoints: the model server (SageMaker, KServe V1, Open Inference V2), endpoint/variant records,
the traffic router, hot swap, guardrails, auto-deploy of Approved versions and the KServe export.

Library entry points take the workspace first; `create_app(ws, endpoint)` is the server.
"""

from mloop.serving.app import create_app
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
from mloop.serving.router import Router
from mloop.serving.serve import served_url

__all__ = [
    "Endpoint", "EndpointNotFound", "NotApproved", "Router", "Variant", "create_app", "deploy",
    "get_endpoint", "history", "list_endpoints", "promote", "rollback", "served_url", "set_follow",
    "set_weights",
]
