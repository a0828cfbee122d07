"""Errors of the feature store (all `MloopError`s, with hints naming the next command)."""

from __future__ import annotations

from mloop.errors import Conflict, InvalidInput, NotFound


class FeatureGroupNotFound(NotFound):
    code = "feature_group_not_found"
    hint = "List groups with `mloop features list`; create one with `mloop features create`."


class FeatureGroupExists(Conflict):
    code = "feature_group_exists"
    hint = "Pick another name, or delete it first with `mloop features delete NAME`."


class InvalidSpec(InvalidInput):
    """A feature group's definition is malformed (unknown type, missing id or time column...)."""

    code = "invalid_feature_spec"


class IngestRejected(InvalidInput):
    """Too many rows failed validation (or the file cannot be read at all); nothing was written."""

    code = "ingest_rejected"
