"""Content-addressed artifacts are shared: delete one only when no record refers to it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from mloop.features import ingested_digests
from mloop.pipelines.delete import referenced_digests

if TYPE_CHECKING:
    from mloop.store import Workspace


def referenced(ws: Workspace) -> set[str]:
    """Every digest a feature ingestion or a pipeline record refers to."""
    return ingested_digests(ws) | referenced_digests(ws)


def drop_unreferenced(ws: Workspace, digests: Iterable[str]) -> int:
    """Delete the artifacts among `digests` that nothing refers to any more; returns how many."""
    keep = referenced(ws)
    dropped = 0
    for digest in sorted(set(digests) - keep):
        if ws.artifacts.exists(digest):
            ws.artifacts.delete(digest)
            dropped += 1
    return dropped
