"""Fixtures for feature-store tests (the specs and files they use: tests/support/feature_files.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.feature_files import events_spec


@pytest.fixture
def ev(workspace: Any) -> Any:
    """A workspace with an empty 'ev' group."""
    from mloop.features import create_group

    create_group(workspace, events_spec())
    return workspace
