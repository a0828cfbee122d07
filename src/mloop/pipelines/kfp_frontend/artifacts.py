"""KFP artifacts crossing step boundaries: stored in mloop's content-addressed store.

A `StoredArtifact` saves the artifact's file or directory plus its type and metadata to a
directory, which the executor's directory materializer tars deterministically: equal content
gives an equal digest (the run-specific URI is not part of it), so caching is by content.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

_META = "artifact.json"
_DATA = "data"


class StoredArtifact:
    """One KFP artifact (or, with `items`, a list of them: `dsl.Collected`, list outputs)."""

    def __init__(self, name: str, title: str, metadata: dict[str, Any], path: Path | None,
                 items: list[StoredArtifact] | None = None) -> None:
        self.name, self.title, self.metadata, self.path = name, title, metadata, path
        self.items = items

    @classmethod
    def from_dsl(cls, value: Any) -> StoredArtifact:
        if isinstance(value, list):
            return cls("list", "list", {}, None, [cls.from_dsl(v) for v in value])
        path = Path(value.path) if value.uri else None
        return cls(value.name, value.schema_title, dict(value.metadata or {}), path)

    def to_dsl(self) -> Any:
        from kfp.dsl.executor import create_artifact_instance

        if self.items is not None:
            return [item.to_dsl() for item in self.items]
        uri = str(self.path) if self.path is not None else ""
        return create_artifact_instance({"name": self.name, "uri": uri, "metadata": self.metadata,
                                         "type": {"schemaTitle": self.title}})

    def save(self, directory: Path) -> None:
        if self.items is not None:
            (directory / _META).write_text(json.dumps({"list": len(self.items)}), encoding="utf-8")
            for index, item in enumerate(self.items):
                (directory / str(index)).mkdir()
                item.save(directory / str(index))
            return
        meta = {"name": self.name, "title": self.title, "metadata": self.metadata}
        (directory / _META).write_text(json.dumps(meta, sort_keys=True, default=str), encoding="utf-8")
        if self.path is not None and self.path.is_dir():
            shutil.copytree(self.path, directory / _DATA)
        elif self.path is not None and self.path.is_file():
            shutil.copyfile(self.path, directory / _DATA)

    @classmethod
    def load(cls, directory: Path) -> StoredArtifact:
        meta = json.loads((directory / _META).read_text(encoding="utf-8"))
        if "list" in meta:
            return cls("list", "list", {}, None,
                       [cls.load(directory / str(i)) for i in range(int(meta["list"]))])
        data = directory / _DATA
        return cls(meta["name"], meta["title"], meta.get("metadata") or {},
                   data if data.exists() else directory / _DATA)
