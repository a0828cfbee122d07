"""Settings: every key declared once, with type, default and doc; one precedence.

Precedence (lowest to highest): declared default < `mloop.toml` < `MLOOP_*` environment <
explicit arguments. Nested sections (`[registry]`, `[auth]`...) map to `MLOOP_SECTION__KEY`.
Unknown keys and bad values raise `ConfigError` naming the file, the key and the valid choices:
a typo must never silently fall back to a default.

Relative paths and `sqlite:///relative` URLs are resolved against the workspace root, so a
workspace behaves the same whatever the current directory is.
"""

from __future__ import annotations

import getpass
import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mloop.errors import ConfigError, WorkspaceNotFound, did_you_mean

CONFIG_FILE = "mloop.toml"
STATE_DIR = ".mloop"
ENV_PREFIX = "MLOOP_"
# Environment variables that steer mloop but are not settings.
RESERVED_ENV = {"MLOOP_WORKSPACE", "MLOOP_DEBUG", "MLOOP_TOKEN"}
# The test suite's own overrides (README: MLOOP_TEST_PG_URL, MLOOP_TEST_REDIS_URL) are not settings.
RESERVED_ENV_PREFIXES = ("MLOOP_TEST_",)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return "unknown"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class RegistrySettings(_Section):
    require_comment: bool = Field(True, description="Approvals and rejections need a comment.")
    require_distinct_approver: bool = Field(
        False, description="Four-eyes rule: whoever registered a version cannot approve it."
    )
    webhook_url: str | None = Field(
        None, description="POST approval status changes here (JSON; retried per alerts.webhook_*)."
    )
    require_principal: bool = Field(
        True, description="Approvals and rejections need a named principal (MLOOP_PRINCIPAL)."
    )


class TokenSpec(_Section):
    principal: str = Field(description="Who the token belongs to.")
    role: Literal["viewer", "approver", "deployer", "admin"] = Field(description="What it may do.")


class AuthSettings(_Section):
    tokens: dict[str, TokenSpec] = Field(
        default_factory=dict, description="Bearer token -> {principal, role}."
    )
    anonymous_read: bool = Field(True, description="Reads need no token.")


class ServerSettings(_Section):
    host: str = Field("127.0.0.1", description="Where `mloop server` (the control plane) binds.")
    port: int = Field(8000, ge=0, le=65535, description="Port of `mloop server`.")
    cors_origins: list[str] = Field(
        default_factory=lambda: ["*"], description="Origins that may call the control plane."
    )
    cors_methods: list[str] = Field(
        default_factory=lambda: ["GET"], description="HTTP methods those origins may use."
    )


class LineageSettings(_Section):
    storage_metadata: bool = Field(
        True, description="Probe artifact storage security (encryption, versioning...)."
    )
    probe_ttl_seconds: float = Field(
        300.0, ge=0, description="How long a bucket's probe result is reused."
    )
    s3_timeout_ms: int = Field(2000, ge=1, description="Timeout of each S3 probe call.")
    domain: str | None = Field(
        None, description="Domain of this workspace's pipelines (GET /lineage?domain= must match)."
    )


class AlertSettings(_Section):
    webhook_url: str | None = Field(None, description="POST alerts here (Slack-compatible JSON).")
    webhook_attempts: int = Field(
        4, ge=1, le=20, description="Delivery attempts per webhook POST (alerts and registry events)."
    )
    webhook_backoff_seconds: float = Field(
        0.5, ge=0, description="First retry delay; doubles after each failed attempt."
    )
    webhook_timeout_seconds: float = Field(5.0, gt=0, description="Timeout of one webhook POST.")


class AppSettings(_Section):
    """The inference web app (`mloop app`): which endpoint it calls and where it logs."""

    endpoint: str | None = Field(
        None, description="Model endpoint the app calls: an http(s):// URL or an endpoint name."
    )
    model_name: str | None = Field(
        None, description="Registered model behind the endpoint (default: what the endpoint reports)."
    )
    interactions_group: str = Field(
        "user-interactions", description="Feature group every prediction is logged to."
    )
    feedback_group: str = Field(
        "user-feedback", description="Feature group of feedback (clicked or not), keyed by request id."
    )
    label_window: str = Field(
        "1h", description="Feedback counts as a label only within this long after the prediction."
    )
    log_interactions: bool = Field(True, description="Log predictions and feedback (off for benchmarks).")
    timeout_seconds: float = Field(10.0, gt=0, description="Timeout of one call to the endpoint.")
    max_records: int = Field(1000, gt=0, description="Most records one /api/predict call may carry.")


class MonitoringSettings(_Section):
    """Drift reports (`mloop monitor drift`) and the thresholds that raise an alert."""

    window: str = Field("1h", description="How far back the interactions of a drift report reach.")
    psi_threshold: float = Field(0.2, ge=0, description="Alert when a feature's PSI passes this.")
    ks_threshold: float = Field(0.2, ge=0, le=1, description="Alert when a numeric KS statistic passes this.")
    ks_pvalue: float = Field(0.01, gt=0, le=1, description="...and its p-value is below this.")
    missing_rate_threshold: float = Field(
        0.1, ge=0, le=1, description="Alert when a feature's missing rate grows by more than this."
    )
    min_rows: int = Field(30, ge=1, description="Fewer interactions than this: report, never alert.")


class ServingSettings(_Section):
    endpoint: str | None = Field(
        None, description="Endpoint `mloop serve` serves when none is named (the serving container)."
    )
    poll_interval: float = Field(
        1.0, gt=0, le=1.0, description="Seconds between checks of the endpoint configuration (hot swap)."
    )
    max_body_bytes: int = Field(6 * 1024 * 1024, gt=0, description="Largest request body (413 above).")
    routing_header: str = Field(
        "X-Mloop-Routing-Key", description="Header whose value pins a caller to one variant (sticky)."
    )
    max_error_rate: float = Field(
        0.05, ge=0, le=1, description="Guardrail: a canary with a higher 5xx rate is set to weight 0."
    )
    max_p99_ms: float = Field(500.0, gt=0, description="Guardrail: canary p99 latency limit (ms).")
    guardrail_window_s: float = Field(60.0, gt=0, description="Guardrail sliding window (seconds).")
    guardrail_min_requests: int = Field(
        20, ge=1, description="Guardrail: requests in the window before a canary can be judged."
    )
    image: str = Field("mloop-serving:latest", description="Serving container image (KServe export).")


class ReleaseSettings(_Section):
    """Releases (`mloop release`): commit -> train & register -> approval -> deploy -> verify."""

    pipeline: str | None = Field(None, description="Pipeline a release runs (built-in or [pipelines] name).")
    parameters: dict[str, Any] = Field(default_factory=dict, description="Run parameters of that pipeline.")
    model: str | None = Field(None, description="Registered model the pipeline registers a version of.")
    endpoint: str | None = Field(None, description="Endpoint a release deploys to.")
    canary_weight: int | None = Field(
        None, ge=1, le=99, description="Deploy as a canary variant with this traffic weight (%); unset: production."
    )
    use_latest_approved: bool = Field(
        False, description="Deploy the newest Approved version instead of the one the release registered."
    )
    approval_timeout: float | None = Field(
        None, gt=0, description="Seconds to wait for approval before the release fails; unset: wait forever."
    )
    verify_payload: list[dict[str, Any]] | None = Field(
        None, description="Records sent by the smoke invocation of Verify (default: the model's input example)."
    )
    verify_url: str | None = Field(
        None, description="Base URL of the running model server Verify calls; unset: the endpoint in-process."
    )
    poll_interval: float = Field(1.0, gt=0, description="Seconds between checks while waiting (approval, lock).")
    deploy_lock_timeout: float = Field(
        600.0, gt=0, description="Seconds to wait for another release to finish deploying the same endpoint."
    )


class FeatureSettings(_Section):
    flush_rows: int = Field(
        50_000, ge=1, description="put_records: flush the spool to Parquet at this many rows."
    )
    flush_seconds: float = Field(
        30.0, gt=0, description="put_records: flush records older than this many seconds."
    )


class Settings(_Section):
    """The effective configuration of one workspace."""

    database_url: str = Field(
        "sqlite:///.mloop/mloop.db",
        description="Metadata database (SQLAlchemy URL): sqlite:///path or postgresql+psycopg://...",
    )
    artifact_root: str = Field(
        ".mloop/artifacts", description="Artifact store root: a local path or s3://bucket/prefix."
    )
    online_store_url: str = Field(
        "sqlite:///.mloop/online.db",
        description="Online feature store: sqlite:///path or redis://host:port/db.",
    )
    tracking_uri: str = Field(
        "sqlite:///.mloop/mlflow.db",
        description="MLflow tracking store: sqlite:///path or http://mlflow-server:5000.",
    )
    mlflow_artifact_root: str = Field(
        ".mloop/mlflow-artifacts", description="Where a local MLflow store keeps run artifacts."
    )
    s3_endpoint_url: str | None = Field(
        None, description="S3-compatible endpoint (MinIO, moto); AWS when unset."
    )
    principal: str = Field(default_factory=_os_user, description="Who you are, for audit trails.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level of servers and commands."
    )
    pipelines: dict[str, str] = Field(
        default_factory=dict, description="Project pipelines: name -> 'module:function'."
    )
    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    release: ReleaseSettings = Field(default_factory=ReleaseSettings)
    app: AppSettings = Field(default_factory=AppSettings)
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    lineage: LineageSettings = Field(default_factory=LineageSettings)
    serving: ServingSettings = Field(default_factory=ServingSettings)
    features: FeatureSettings = Field(default_factory=FeatureSettings)


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
        origin = sources.get(key) or sources.get(str(first["loc"][0]), "default")
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
    """
    created: list[Path] = []
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
