"""A workspace: its settings and the stores they name, opened lazily and once."""

from __future__ import annotations

import threading
from functools import cached_property
from pathlib import Path
from typing import Any

from mloop.config import STATE_DIR, LoadedSettings, Settings, load_settings
from mloop.store.artifacts import ArtifactStore, open_backend
from mloop.store.database import Database


class Workspace:
    """Settings + metadata database + artifact store of one project directory.

    Stores open on first use, so commands that need only settings stay fast; the database is
    migrated to the newest schema the first time it is opened.
    """

    def __init__(self, loaded: LoadedSettings) -> None:
        self.loaded = loaded
        self._lock = threading.Lock()

    @property
    def root(self) -> Path:
        return self.loaded.root

    @property
    def settings(self) -> Settings:
        return self.loaded.settings

    @property
    def state_dir(self) -> Path:
        """`.mloop/`: local state that is not shared (logs, spools, pid files)."""
        path = self.root / STATE_DIR
        path.mkdir(exist_ok=True)
        return path

    @cached_property
    def db(self) -> Database:
        with self._lock:
            db = Database(self.settings.database_url)
            db.migrate()
            return db

    @cached_property
    def artifacts(self) -> ArtifactStore:
        return ArtifactStore(open_backend(self.settings.artifact_root, self.settings.s3_endpoint_url))

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.dispose()


def open_workspace(root: Path | str | None = None, **overrides: Any) -> Workspace:
    """Open the workspace at `root` (found from the cwd when None) with explicit overrides.

    Raises:
        WorkspaceNotFound: no `mloop.toml` found.
        ConfigError: invalid settings.
    """
    return Workspace(load_settings(Path(root) if root else None, **overrides))
