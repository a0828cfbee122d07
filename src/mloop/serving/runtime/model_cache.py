"""The local cache of registered model versions a server loads.

A model version is downloaded once into `.mloop/serving/models/<digest of its URI>/` (a temp dir
renamed into place, so a crash never leaves half a model), verified against the digest recorded
at registration before every use, and loaded with `served_model.load_served`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from mloop import registry, tracking
from mloop.errors import IntegrityError, NotFound
from mloop.serving.runtime.served_model import Loader, ServedModel, load_served

if TYPE_CHECKING:
    from mloop.serving.endpoints.records import Variant
    from mloop.store import Workspace

log = logging.getLogger("mloop.serving")

_download_lock = threading.Lock()


def model_dir(ws: Workspace, model_uri: str, expected: str | None = None) -> Path:
    """The local directory of a model version, downloaded on first use and verified before use.

    Args:
        expected: the `tracking.model_digest` recorded when the version was registered. A cached copy that
            does not match is thrown away and downloaded again; a download that does not match
            is refused.

    Raises:
        IntegrityError: the registry's copy of the model files does not match `expected`.
    """
    digest = hashlib.sha256(model_uri.encode()).hexdigest()[:24]
    base = ws.state_dir / "serving" / "models"
    final = base / digest
    if final.is_dir() and _matches(final, expected, model_uri, "cached copy"):
        return final
    base.mkdir(parents=True, exist_ok=True)
    with _download_lock:
        if final.is_dir():
            if _matches(final, expected, model_uri, "cached copy"):
                return final
            shutil.rmtree(final, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(dir=base, prefix=".tmp-"))
        try:
            tracking.download_model(ws, model_uri, tmp / "m")
            if not _matches(tmp / "m", expected, model_uri, "download"):
                raise IntegrityError(
                    f"the files of {model_uri} do not match the digest recorded at registration "
                    f"({(expected or '')[:12]}): refusing to load them",
                    hint="The registry's copy was changed or damaged; register the model again "
                         "from its training run (`mloop runs retry` / `mloop run`), then deploy that version.")
            try:
                os.replace(tmp / "m", final)
            except OSError:  # another process won the race
                if not final.is_dir():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def _matches(path: Path, expected: str | None, model_uri: str, what: str) -> bool:
    if expected is None:
        return True  # registered before digests were recorded: nothing to check against
    if tracking.files_digest(path) == expected:
        return True
    log.warning("%s of %s does not match its registered digest %s", what, model_uri, expected[:12])
    return False


def expected_digest(ws: Workspace, variant: Variant) -> str | None:
    """The digest recorded when the variant's model version was registered (None: none recorded)."""
    try:
        return registry.get_version(ws, variant.model_name, int(variant.model_version)).model_digest
    except NotFound:
        return None


def workspace_loader(ws: Workspace) -> Loader:
    """The loader servers use: download (or reuse) the variant's model, verify it, load it."""

    def load(variant: Variant) -> ServedModel:
        path = model_dir(ws, variant.model_uri, expected_digest(ws, variant))
        return load_served(path, variant.model_name, variant.model_version, variant.model_uri, ws)

    return load
