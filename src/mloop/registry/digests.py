"""The digest a registered version records of its model files (servers verify their copy with it)."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mloop.store import Workspace

log = logging.getLogger("mloop.registry")


def recorded_digest(ws: Workspace, model_uri: str) -> str | None:
    """The `tree_digest` of the files at `model_uri`, which servers check their copy against.

    None (logged) when the files cannot be read now: the version is still registered, and servers
    load it unverified, as they do versions registered before digests were recorded.
    """
    from mloop import tracking

    try:
        with tempfile.TemporaryDirectory(prefix="mloop-digest-") as tmp:
            return tracking.model_files_digest(tracking.download_model(ws, model_uri, Path(tmp) / "m"))
    except Exception as exc:
        log.warning("cannot read %s to record its digest: %s", model_uri, exc)
        return None
