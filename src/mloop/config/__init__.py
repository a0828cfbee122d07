"""Settings: every key declared once (in `sections.py`), with type, default and doc; one precedence.

Precedence (lowest to highest): declared default < `mloop.toml` < `MLOOP_*` environment <
explicit arguments. Nested sections (`[registry]`, `[auth]`...) map to `MLOOP_SECTION__KEY`.
Unknown keys and bad values raise `ConfigError` naming the file, the key and the valid choices:
a typo must never silently fall back to a default.

Relative paths and `sqlite:///relative` URLs are resolved against the workspace root, so a
workspace behaves the same whatever the current directory is.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from mloop.config.sections import (
    AlertSettings,
    AppSettings,
    AuthSettings,
    FeatureSettings,
    LineageSettings,
    MonitoringSettings,
    RegistrySettings,
    ReleaseSettings,
    ServerSettings,
    ServingSettings,
    Settings,
    TokenSpec,
)
from mloop.errors import ConfigError, WorkspaceNotFound, did_you_mean

CONFIG_FILE = "mloop.toml"
STATE_DIR = ".mloop"
ENV_PREFIX = "MLOOP_"
# Environment variables that steer mloop but are not settings.
RESERVED_ENV = {"MLOOP_WORKSPACE", "MLOOP_DEBUG", "MLOOP_TOKEN"}
# The test suite's own overrides (README: MLOOP_TEST_PG_URL, MLOOP_TEST_REDIS_URL) are not settings.
RESERVED_ENV_PREFIXES = ("MLOOP_TEST_",)
# The inference app's environment in SageMaker deployments (seed 002), read as aliases of app
# settings so a container configured for SageMaker runs unchanged; `MLOOP_APP__*` wins over them.
SEED_ENV_ALIASES = {
    "SAGEMAKER_ENDPOINT_NAME": ["app", "endpoint"],
    "MODEL_PACKAGE_GROUP": ["app", "model_name"],
    "USER_INTERACTION_FG_NAME": ["app", "interactions_group"],
}





@dataclass
class LoadedSettings:
    """Settings plus where each value came from (for `mloop config show`)."""

    settings: Settings
    root: Path
    sources: dict[str, str] = field(default_factory=dict)

    def rows(self) -> list[dict[str, Any]]:
        """One row per leaf key: key, value, source, doc."""
        return [
            {"key": key, "value": value, "source": self.sources.get(key, "default"), "doc": doc}
            for key, value, doc in _leaves(self.settings)
        ]


def _leaves(model: BaseModel, prefix: str = "") -> list[tuple[str, Any, str]]:
    out: list[tuple[str, Any, str]] = []
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            out.extend(_leaves(value, f"{prefix}{name}."))
            continue
        if name == "tokens":  # never print secrets
            value = [{"token": "***", **spec.model_dump()} for spec in value.values()]
        elif isinstance(value, BaseModel | dict):
            value = json.loads(json.dumps(value, default=lambda o: o.model_dump()))
        out.append((prefix + name, value, info.description or ""))
    return out


def find_workspace(start: Path | None = None) -> Path:
    """The workspace root: `MLOOP_WORKSPACE`, else the nearest directory holding `mloop.toml`.

    Raises:
        WorkspaceNotFound: no workspace above `start` (default: the current directory).
    """
    env = os.environ.get("MLOOP_WORKSPACE")
    if env:
        root = Path(env).expanduser().resolve()
        if not (root / CONFIG_FILE).exists():
            raise WorkspaceNotFound(f"MLOOP_WORKSPACE={env} has no {CONFIG_FILE}")
        return root
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / CONFIG_FILE).is_file():
            return candidate
    raise WorkspaceNotFound(f"no {CONFIG_FILE} in {here} or any parent directory")


def _check_keys(data: dict[str, Any], model: type[BaseModel], where: str, prefix: str = "") -> None:
    fields = model.model_fields
    for key, value in data.items():
        if key not in fields:
            raise ConfigError(
                f"{where}: unknown key '{prefix}{key}'",
                hint=did_you_mean(key, fields),
            )
        annotation = fields[key].annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: '{prefix}{key}' must be a table ([{prefix}{key}])")
            _check_keys(value, annotation, where, f"{prefix}{key}.")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}", hint="Fix the syntax error.") from exc


def _env_values() -> dict[str, tuple[list[str], str]]:
    """MLOOP_* variables as dotted paths; nested sections use a double underscore."""
    found: dict[str, tuple[list[str], str]] = {}
    for name, raw in os.environ.items():
        if not name.startswith(ENV_PREFIX) or name in RESERVED_ENV:
            continue
        if name.startswith(RESERVED_ENV_PREFIXES):
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX) :].split("__")]
        found[name] = (path, raw)
    return found


def _set_path(data: dict[str, Any], path: list[str], value: Any) -> None:
    for part in path[:-1]:
        data = data.setdefault(part, {})
    data[path[-1]] = value


def _parse_env(raw: str) -> Any:
    # JSON for structured values (dicts, lists, bools, numbers); plain strings otherwise.
    if raw[:1] in "{[" or raw in ("true", "false", "null"):
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def _resolve_paths(settings: Settings, root: Path) -> None:
    def local(value: str) -> str:
        if "://" in value:
            return value
        return str((root / value).resolve()) if not Path(value).is_absolute() else value

    def sqlite(url: str) -> str:
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str((root / url[len(prefix) :]).resolve())
        return url

    settings.database_url = sqlite(settings.database_url)
    settings.online_store_url = sqlite(settings.online_store_url)
    settings.tracking_uri = sqlite(settings.tracking_uri)
    settings.artifact_root = local(settings.artifact_root)
    settings.mlflow_artifact_root = local(settings.mlflow_artifact_root)


def load_settings(root: Path | None = None, **overrides: Any) -> LoadedSettings:
    """Load the settings of the workspace at `root` (found from the cwd when None).

    Args:
        root: workspace directory; `find_workspace()` when None.
        overrides: explicit values (highest precedence); dotted keys as `section__key`.

    Returns:
        The validated settings with the source of every value.

    Raises:
        WorkspaceNotFound: no workspace found.
        ConfigError: unknown key or invalid value, naming the file or variable.
    """
    root = (root or find_workspace()).resolve()
    data: dict[str, Any] = {}
    sources: dict[str, str] = {}
    config_path = root / CONFIG_FILE
    if config_path.exists():
        from_file = _read_toml(config_path)
        _check_keys(from_file, Settings, str(config_path))
        data.update(from_file)
        for key in _dotted(from_file):
            sources[key] = CONFIG_FILE
    for name, path in SEED_ENV_ALIASES.items():  # below MLOOP_*: the mloop name wins when both are set
        if os.environ.get(name):
            _set_path(data, path, os.environ[name])
            sources[".".join(path)] = f"env {name}"
    for name, (path, raw) in _env_values().items():
        _check_keys(_nest(path, None), Settings, f"environment variable {name}")
        _set_path(data, path, _parse_env(raw))
        sources[".".join(path)] = f"env {name}"
    for key, value in overrides.items():
        path = key.split("__")
        _set_path(data, path, value)
        sources[".".join(path)] = "argument"
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        loc = [str(p) for p in first["loc"]]
        # The longest recorded prefix: MLOOP_AUTH__TOKENS sets "auth.tokens", the error is at "auth.tokens.t.role".
        prefixes = (".".join(loc[:i]) for i in range(len(loc), 0, -1))
        origin = next((sources[p] for p in prefixes if p in sources), "default")
        raise ConfigError(
            f"{origin}: invalid value for '{key}': {first['msg']}",
            hint=f"See `mloop config show` for every key and its doc ({config_path}).",
        ) from exc
    _resolve_paths(settings, root)
    return LoadedSettings(settings=settings, root=root, sources=sources)


def _dotted(data: dict[str, Any], prefix: str = "") -> list[str]:
    keys: list[str] = []
    for key, value in data.items():
        keys.append(prefix + key)
        if isinstance(value, dict):
            keys.extend(_dotted(value, f"{prefix}{key}."))
    return keys


def _nest(path: list[str], value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _set_path(out, path, value)
    return out


DEFAULT_TOML = """\
# mloop workspace settings. Every key has an MLOOP_* environment override
# (sections: MLOOP_SECTION__KEY). `mloop config show` lists keys, values and sources.

# database_url = "postgresql+psycopg://user@host/db"   # default: sqlite:///.mloop/mloop.db
# artifact_root = "s3://bucket/prefix"                  # default: .mloop/artifacts
# online_store_url = "redis://127.0.0.1:6379/0"         # default: sqlite:///.mloop/online.db
# tracking_uri = "http://127.0.0.1:5000"                # default: sqlite:///.mloop/mlflow.db

# [pipelines]
# my-pipeline = "my_project.pipelines:training"
"""


def init_workspace(root: Path) -> list[Path]:
    """Create `mloop.toml` and `.mloop/` in `root`; never overwrite what exists.

    Returns:
        The paths that were created (empty when the workspace already existed).

    Raises:
        ConfigError: `root` is a file, is not writable, or holds a `mloop.toml` / `.mloop` of the wrong kind.
    """
    try:
        return _create_workspace(root)
    except OSError as exc:
        raise ConfigError(
            f"cannot create a workspace in {root}: {exc.strerror or exc}",
            hint="Pick a directory you can write to: `mloop init DIR`.",
        ) from exc


def _create_workspace(root: Path) -> list[Path]:
    created: list[Path] = []
    if root.exists() and not root.is_dir():
        raise ConfigError(f"cannot create a workspace in {root}: it is a file, not a directory",
                          hint="Pick a directory: `mloop init DIR`.")
    for name, want_dir in ((CONFIG_FILE, False), (STATE_DIR, True)):
        path = root / name
        if path.exists() and path.is_dir() != want_dir:
            kind = "directory" if want_dir else "file"
            raise ConfigError(f"{path} exists but is not a {kind}",
                              hint=f"Move it away, then run `mloop init {root}` again.")
    root.mkdir(parents=True, exist_ok=True)
    config_path = root / CONFIG_FILE
    if not config_path.exists():
        try:
            with open(config_path, "x", encoding="utf-8") as fh:  # "x": never clobber a race
                fh.write(DEFAULT_TOML)
            created.append(config_path)
        except FileExistsError:
            pass
    state = root / STATE_DIR
    if not state.exists():
        state.mkdir(exist_ok=True)
        (state / ".gitignore").write_text("*\n", encoding="utf-8")
        created.append(state)
    return created


__all__ = [
    "CONFIG_FILE", "ENV_PREFIX", "RESERVED_ENV", "STATE_DIR", "AlertSettings", "AppSettings", "AuthSettings",
    "FeatureSettings", "LineageSettings", "LoadedSettings", "MonitoringSettings", "RegistrySettings",
    "ReleaseSettings", "ServerSettings", "ServingSettings", "Settings", "TokenSpec", "find_workspace",
    "init_workspace", "load_settings",
]
