"""Materializers: how a step output becomes bytes in the artifact store and back, by type.

DataFrame / Arrow table -> Parquet, numpy array -> .npy, JSON values -> JSON, objects with
`save(dir)` / `load(dir)` (models) -> a deterministic tar of that directory, anything else ->
pickle. Users add their own with `register_materializer` (checked first). Equal content gives
equal bytes, so equal outputs share one digest.
"""

from __future__ import annotations

import importlib
import json
import os
import pickle
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mloop.pipelines.errors import StepFailed
from mloop.store.encoding import json_default

if TYPE_CHECKING:
    from mloop.store import Workspace


class Materializer(Protocol):
    """Writes one kind of object to one file and reads it back."""

    format: str

    def handles(self, obj: Any) -> bool: ...

    def save(self, obj: Any, path: Path) -> dict[str, Any]:
        """Write `obj` to `path`; return metadata needed to load it (JSON)."""
        ...

    def load(self, path: Path, meta: dict[str, Any]) -> Any: ...


@dataclass
class ArtifactInfo:
    """A stored output: what the executor records and passes downstream."""

    digest: str
    size: int
    type: str
    format: str
    uri: str
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"digest": self.digest, "size": self.size, "type": self.type,
                "format": self.format, "uri": self.uri, "meta": self.meta}


def _module(obj: Any) -> str:
    return type(obj).__module__.split(".", 1)[0]


class ParquetMaterializer:
    format = "parquet"

    def handles(self, obj: Any) -> bool:
        name = type(obj).__name__
        return (_module(obj) == "pandas" and name == "DataFrame") or (
            _module(obj) == "pyarrow" and name == "Table")

    def save(self, obj: Any, path: Path) -> dict[str, Any]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        is_arrow = _module(obj) == "pyarrow"
        table = obj if is_arrow else pa.Table.from_pandas(obj)
        pq.write_table(table, path, compression="zstd")
        return {"arrow": is_arrow, "rows": table.num_rows}

    def load(self, path: Path, meta: dict[str, Any]) -> Any:
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        return table if meta.get("arrow") else table.to_pandas()


class NumpyMaterializer:
    format = "npy"

    def handles(self, obj: Any) -> bool:
        return _module(obj) == "numpy" and type(obj).__name__ == "ndarray"

    def save(self, obj: Any, path: Path) -> dict[str, Any]:
        import numpy as np

        with open(path, "wb") as fh:
            np.save(fh, obj, allow_pickle=False)
        return {"shape": list(obj.shape), "dtype": str(obj.dtype)}

    def load(self, path: Path, meta: dict[str, Any]) -> Any:
        import numpy as np

        return np.load(path, allow_pickle=False)


class JsonMaterializer:
    format = "json"

    def handles(self, obj: Any) -> bool:
        if not isinstance(obj, dict | list | tuple | str | int | float | bool | type(None)):
            return False
        try:
            json.dumps(obj, default=json_default, allow_nan=True)
        except (TypeError, ValueError):
            return False
        return True

    def save(self, obj: Any, path: Path) -> dict[str, Any]:
        body = json.dumps(obj, default=json_default, sort_keys=True, separators=(",", ":"))
        path.write_text(body, encoding="utf-8")
        return {"tuple": True} if isinstance(obj, tuple) else {}

    def load(self, path: Path, meta: dict[str, Any]) -> Any:
        value = json.loads(path.read_text(encoding="utf-8"))
        return tuple(value) if meta.get("tuple") else value


def _class_ref(obj: Any) -> str:
    return f"{type(obj).__module__}:{type(obj).__qualname__}"


def _import_class(ref: str) -> Any:
    module, _, qualname = ref.partition(":")
    target: Any = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


class DirectoryMaterializer:
    """Objects that save themselves to a directory (models): a reproducible tar of it."""

    format = "dir"

    def handles(self, obj: Any) -> bool:
        return callable(getattr(obj, "save", None)) and callable(getattr(type(obj), "load", None))

    def save(self, obj: Any, path: Path) -> dict[str, Any]:
        with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
            obj.save(Path(tmp))
            _deterministic_tar(Path(tmp), path)
        return {"class": _class_ref(obj)}

    def load(self, path: Path, meta: dict[str, Any]) -> Any:
        target = path.with_suffix(".d")
        if not target.exists():
            staging = Path(tempfile.mkdtemp(dir=path.parent))
            with tarfile.open(path) as tar:
                tar.extractall(staging, filter="data")
            try:
                os.replace(staging, target)
            except OSError:  # another reader extracted it first
                pass
        return _import_class(meta["class"]).load(target)


def _deterministic_tar(src: Path, dst: Path) -> None:
    with tarfile.open(dst, "w") as tar:
        for file in sorted(p for p in src.rglob("*")):
            info = tar.gettarinfo(str(file), arcname=str(file.relative_to(src)))
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            if file.is_file():
                with open(file, "rb") as fh:
                    tar.addfile(info, fh)
            else:
                tar.addfile(info)


class PickleMaterializer:
    format = "pickle"

    def handles(self, obj: Any) -> bool:
        return True

    def save(self, obj: Any, path: Path) -> dict[str, Any]:
        with open(path, "wb") as fh:
            pickle.dump(obj, fh, protocol=5)
        return {"class": _class_ref(obj)}

    def load(self, path: Path, meta: dict[str, Any]) -> Any:
        with open(path, "rb") as fh:
            return pickle.load(fh)


_USER: list[Materializer] = []
_BUILTIN: list[Materializer] = [
    ParquetMaterializer(), NumpyMaterializer(), JsonMaterializer(), DirectoryMaterializer(),
    PickleMaterializer(),
]


def register_materializer(materializer: Materializer) -> None:
    """Add a materializer for your own types; it is tried before the built-in ones."""
    _USER.insert(0, materializer)


def _by_format(fmt: str) -> Materializer:
    for candidate in (*_USER, *_BUILTIN):
        if candidate.format == fmt:
            return candidate
    raise StepFailed(f"no materializer for artifact format '{fmt}'",
                     hint="Register it with mloop.pipelines.register_materializer.")


def type_of(obj: Any) -> str:
    cls = type(obj)
    module = cls.__module__.split(".", 1)[0] if cls.__module__.startswith("pandas") else cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def save_output(ws: Workspace, obj: Any) -> ArtifactInfo:
    """Store `obj` content-addressed and describe it."""
    materializer = next(m for m in (*_USER, *_BUILTIN) if m.handles(obj))
    path = ws.artifacts.staging_file("out-", f".{materializer.format}")
    try:
        meta = materializer.save(obj, path)
        size = path.stat().st_size
        # recomputable: the cache and `retry` re-hash outputs before reuse, so a power failure
        # that loses the new name costs a re-run, never a wrong result (no directory fsync)
        digest = ws.artifacts.put(path, durable=False)
    finally:
        path.unlink(missing_ok=True)
    return ArtifactInfo(digest=digest, size=size, type=type_of(obj), format=materializer.format,
                        uri=ws.artifacts.uri(digest), meta=meta)


def load_output(ws: Workspace, info: ArtifactInfo | dict[str, Any]) -> Any:
    """Read a stored output back as the object its step returned."""
    data = info.to_dict() if isinstance(info, ArtifactInfo) else info
    materializer = _by_format(data["format"])
    local = _local_copy(ws, data["digest"], data["format"])
    return materializer.load(local, data.get("meta") or {})


def read_output_file(ws: Workspace, info: dict[str, Any], member: str) -> bytes | None:
    """One file of a stored directory output (a model's spec) without loading the object.

    `mloop runs show` reads what a model was trained on this way: loading the model would import
    its estimator's library (seconds) for a line of text. None when the output is no directory
    or holds no such file.
    """
    if info.get("format") != DirectoryMaterializer.format:
        return None
    local = _local_copy(ws, info["digest"], info["format"])
    extracted = local.with_suffix(".d") / member
    if extracted.is_file():
        return extracted.read_bytes()
    with tarfile.open(local) as tar:
        try:
            handle = tar.extractfile(member)
        except KeyError:
            return None
        return handle.read() if handle is not None else None


def _local_copy(ws: Workspace, digest: str, fmt: str) -> Path:
    local = ws.artifacts.local_path(digest) if fmt != "dir" else None
    if local is not None:
        return local  # read in place
    cache = ws.state_dir / "cache" / "artifacts"
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / f"{digest}.{fmt}"
    if not target.exists():
        ws.artifacts.download(digest, target)
    return target

