"""Storage: the metadata database, the content-addressed artifact store, the workspace; and the
small primitives every package shares (`files.atomic_write`, `leases`, `timestamps`, `encoding`).

Names load lazily (PEP 562), so importing one of the small modules (`mloop.store.files`,
`mloop.store.leases`, `mloop.store.encoding`) does not import SQLAlchemy and the settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mloop.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from mloop.store.artifacts import ArtifactStore, StorageBackend, open_backend
    from mloop.store.database import Database
    from mloop.store.events import list_events, record_event
    from mloop.store.tables import metadata
    from mloop.store.workspace import Workspace, open_workspace

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "ArtifactStore": "mloop.store.artifacts",
    "StorageBackend": "mloop.store.artifacts",
    "open_backend": "mloop.store.artifacts",
    "Database": "mloop.store.database",
    "list_events": "mloop.store.events",
    "record_event": "mloop.store.events",
    "metadata": "mloop.store.tables",
    "Workspace": "mloop.store.workspace",
    "open_workspace": "mloop.store.workspace",
}

__all__ = [
    "ArtifactStore",
    "Database",
    "StorageBackend",
    "Workspace",
    "list_events",
    "metadata",
    "open_backend",
    "open_workspace",
    "record_event",
]


_load, __dir__ = lazy_exports("mloop.store", _EXPORTS, globals(), __all__)


def __getattr__(name: str) -> Any:
    return _load(name)
