"""The schemathesis checks every OpenAPI fuzz test runs (control plane, model server, inference app)."""

from __future__ import annotations

from schemathesis import checks as st_checks

# Every check that judges single responses (the others need stateful links between operations).
ALL_CHECKS = [getattr(st_checks, name) for name in (
    "not_a_server_error", "status_code_conformance", "content_type_conformance",
    "response_headers_conformance", "response_schema_conformance", "negative_data_rejection",
    "positive_data_acceptance", "missing_required_header", "unsupported_method",
    "allow_header_conformance", "ignored_auth")]
