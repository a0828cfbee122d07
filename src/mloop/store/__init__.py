"""Storage: the metadata database, the content-addressed artifact store, the workspace."""

from mloop.store.artifacts import ArtifactStore, StorageBackend, open_backend
from mloop.store.database import Database
from mloop.store.events import list_events, record_event
from mloop.store.tables import metadata
from mloop.store.workspace import Workspace, open_workspace

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
