"""Errors of the KFP front end."""

from __future__ import annotations

from mloop.errors import InvalidInput


class KfpUnsupported(InvalidInput):
    """The pipeline uses a KFP feature that cannot run locally (named in the message)."""

    code = "kfp_unsupported"


class KfpTaskFailed(Exception):
    """A task inside a KFP DAG failed (carried up to the enclosing step, which fails with it)."""
