"""`mloop runs delete`: a run's records, then the artifacts only it referred to."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mloop.pipelines.delete import delete_run as delete_records
from mloop.teardown.content import drop_unreferenced

if TYPE_CHECKING:
    from mloop.store import Workspace


def delete_run(ws: Workspace, run_id: str) -> int:
    """Delete run `run_id` and the artifacts nothing else refers to; returns how many artifacts went.

    Raises:
        RunNotFound: no such run. RunInUse: it executes, or other runs reuse its outputs.
    """
    return drop_unreferenced(ws, delete_records(ws, run_id))
