"""Endpoint configuration: endpoints and their variants (records, the one write path, history),
deploying and moving traffic, shadows, auto-deploy of Approved versions, the traffic router and
who may target a variant, the prediction log and the shadow comparison read from it, taking
versions and endpoints out of service, and the KServe export.

Nothing here runs a model: the server (`serving.server`) answers requests and the live runtime
(`serving.runtime`) follows these records.
"""

from mloop.serving.endpoints.changes import Change, apply_change
from mloop.serving.endpoints.deploy import (
    deploy,
    parse_weights,
    promote,
    resolve_version,
    rollback,
    set_follow,
    set_weights,
)
from mloop.serving.endpoints.records import (
    Endpoint,
    Variant,
    check_endpoint_name,
    find_endpoint,
    generation,
    get_endpoint,
    history,
    list_endpoints,
)

__all__ = [
    "Change", "Endpoint", "Variant", "apply_change", "check_endpoint_name", "deploy", "find_endpoint", "generation",
    "get_endpoint", "history", "list_endpoints", "parse_weights", "promote", "resolve_version", "rollback",
    "set_follow", "set_weights",
]
