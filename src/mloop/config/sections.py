"""The settings schema: every key declared once, with its type, default and doc.

Each concept's keys live in a section (`[registry]`, `[serving]`...); `Settings` is the whole
tree. The loader (`mloop.config`) fills it from defaults, `mloop.toml`, the environment and
arguments.

Sections are msgspec structs, not pydantic models: every command loads the settings, and building
pydantic's validators for these classes cost each CLI call about a tenth of a second (issue 19:
commands answer in under a second); msgspec checks the same types and bounds in microseconds.
Settings are checked when the loader converts them (`validate`); a later assignment is not.
"""

from __future__ import annotations

import getpass
import re
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from msgspec import Meta, field

T = TypeVar("T", bound="_Section")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return "unknown"


class FieldError(ValueError):
    """A section's own check failed on one field (msgspec reports it at the section)."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


class _Section(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A settings section: unknown keys are errors, every field is passed by name."""


def validate(cls: type[T], data: Any) -> T:
    """`data` (plain dicts, lists and strings from TOML and the environment) as a checked `cls`.

    Strings convert to the declared numbers and booleans, as environment values must.

    Raises:
        msgspec.ValidationError: a wrong type, a value out of bounds or an unknown key (the
            message ends with where: "... - at `$.server.port`").
    """
    return msgspec.convert(data, cls, strict=False)


def as_dict(section: _Section, exclude: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
    """The section as plain JSON-ready data (nested sections as dicts), without `exclude`."""
    data: dict[str, Any] = msgspec.to_builtins(section)
    return {k: v for k, v in data.items() if k not in exclude}


def replace(section: T, **changes: Any) -> T:
    """A copy of `section` with `changes`, checked like loaded settings."""
    return validate(type(section), {**as_dict(section), **changes})


class ApprovalPolicy(_Section):
    auto_approve: Annotated[str | None, Meta(
        description="An expression over a new version's metrics, e.g. \"r2 >= 0.8\"; a version that satisfies "
        "it is approved by `policy:<model>` (default: none, a human approves).")] = None
    distinct_approver: Annotated[bool, Meta(
        description="Under the four-eyes rule, the policy counts as an approver distinct from whoever "
        "registered the version (otherwise a human must still approve).")] = False

    def __post_init__(self) -> None:
        if self.auto_approve is not None:
            from mloop.errors import ConfigError
            from mloop.registry.policy import parse

            try:
                parse(self.auto_approve)  # a typo fails when the settings load, not at the next registration
            except ConfigError as exc:
                raise FieldError("auto_approve", f"{exc.message}. {exc.hint}") from exc


class RegistrySettings(_Section):
    require_comment: Annotated[bool, Meta(description="Approvals and rejections need a comment.")] = True
    require_distinct_approver: Annotated[bool, Meta(
        description="Four-eyes rule: whoever registered a version cannot approve it.")] = False
    webhook_url: Annotated[str | None, Meta(
        description="POST approval status changes here (JSON; retried per alerts.webhook_*).")] = None
    require_principal: Annotated[bool, Meta(
        description="Approvals and rejections need a named principal (MLOOP_PRINCIPAL).")] = True
    policies: Annotated[dict[str, ApprovalPolicy], Meta(
        description="Approval policy per model: [registry.policies.<model>].")] = field(default_factory=dict)


class TokenSpec(_Section):
    principal: Annotated[str, Meta(description="Who the token belongs to.")]
    role: Annotated[Literal["viewer", "approver", "deployer", "admin"], Meta(description="What it may do.")]


class AuthSettings(_Section):
    tokens: Annotated[dict[str, TokenSpec], Meta(
        description="Legacy plaintext tokens: moved into the metadata database (hashed) on first use. Issue "
        "tokens with `mloop auth tokens create`.")] = field(default_factory=dict)
    anonymous_read: Annotated[bool | Literal["loopback"], Meta(
        description="Reads need no token: true, false, or 'loopback' (only while the control plane listens on "
        "127.0.0.1 / localhost).")] = "loopback"
    cli: Annotated[Literal["token", "os"] | None, Meta(
        description="How CLI mutations prove who runs them: 'token' (MLOOP_TOKEN) or 'os' (the configured "
        "principal). Unset: 'os' on the workspace's own SQLite database, else 'token'.")] = None
    session_hours: Annotated[float, Meta(
        gt=0, le=24 * 30, description="Dashboard sessions expire after this long.")] = 12.0


class ServerSettings(_Section):
    host: Annotated[str, Meta(description="Where `mloop server` (the control plane) binds.")] = "127.0.0.1"
    port: Annotated[int, Meta(ge=0, le=65535, description="Port of `mloop server`.")] = 8000
    cors_origins: Annotated[list[str], Meta(
        description="Origins that may call the control plane from a browser (CORS); none by default."
    )] = field(default_factory=list)
    cors_methods: Annotated[list[str], Meta(
        description="HTTP methods those origins may use.")] = field(default_factory=lambda: ["GET"])
    read_timeout_s: Annotated[float, Meta(
        gt=0, le=3600, description="Seconds a client may take to send one request (headers and body) "
        "to any mloop server (control plane, model server, inference app); slower connections are closed.")] = 30.0
    allowed_hosts: Annotated[list[str], Meta(
        description="Host names `mloop server` answers to (default: its bind address and localhost; '*' for "
        "any).")] = field(default_factory=list)


class LineageSettings(_Section):
    storage_metadata: Annotated[bool, Meta(
        description="Probe artifact storage security (encryption, versioning...).")] = True
    probe_ttl_seconds: Annotated[float, Meta(ge=0, description="How long a bucket's probe result is reused.")] = 300.0
    s3_timeout_ms: Annotated[int, Meta(ge=1, description="Timeout of each S3 probe call.")] = 2000
    domain: Annotated[str | None, Meta(
        description="Domain of this workspace's pipelines (GET /lineage?domain= must match).")] = None


class AlertSettings(_Section):
    webhook_url: Annotated[str | None, Meta(description="POST alerts here (Slack-compatible JSON).")] = None
    webhook_attempts: Annotated[int, Meta(
        ge=1, le=20, description="Delivery attempts per webhook POST (alerts and registry events).")] = 4
    webhook_backoff_seconds: Annotated[float, Meta(
        ge=0, description="First retry delay; doubles after each failed attempt.")] = 0.5
    webhook_timeout_seconds: Annotated[float, Meta(gt=0, description="Timeout of one webhook POST.")] = 5.0


class AppSettings(_Section):
    """The inference web app (`mloop app`): which endpoint it calls and where it logs."""

    endpoint: Annotated[str | None, Meta(
        description="Model endpoint the app calls: an http(s):// URL or an endpoint name.")] = None
    model_name: Annotated[str | None, Meta(
        description="Registered model behind the endpoint (default: what the endpoint reports).")] = None
    interactions_group: Annotated[str, Meta(
        description="Feature group every prediction is logged to.")] = "user-interactions"
    feedback_group: Annotated[str, Meta(
        description="Feature group of feedback (clicked or not), keyed by request id.")] = "user-feedback"
    label_window: Annotated[str, Meta(
        description="Feedback counts as a label only within this long after the prediction.")] = "1h"
    log_interactions: Annotated[bool, Meta(description="Log predictions and feedback (off for benchmarks).")] = True
    timeout_seconds: Annotated[float, Meta(gt=0, description="Timeout of one call to the endpoint.")] = 10.0
    max_records: Annotated[int, Meta(gt=0, description="Most records one /api/predict call may carry.")] = 1000
    allowed_hosts: Annotated[list[str], Meta(
        description="Host names `mloop app` answers to (default: its bind address and localhost; '*' for "
        "any).")] = field(default_factory=list)


class MonitoringSettings(_Section):
    """Drift reports (`mloop monitor drift`) and the thresholds that raise an alert."""

    window: Annotated[str, Meta(description="How far back the interactions of a drift report reach.")] = "1h"
    psi_threshold: Annotated[float, Meta(ge=0, description="Alert when a feature's PSI passes this.")] = 0.2
    ks_threshold: Annotated[float, Meta(ge=0, le=1, description="Alert when a numeric KS statistic passes this.")] = 0.2
    ks_pvalue: Annotated[float, Meta(gt=0, le=1, description="...and its p-value is below this.")] = 0.01
    missing_rate_threshold: Annotated[float, Meta(
        ge=0, le=1, description="Alert when a feature's missing rate grows by more than this.")] = 0.1
    min_rows: Annotated[int, Meta(
        ge=1, description="Fewer interactions than this (overall, or for one model version and variant): report "
        "'insufficient data', never alert.")] = 30
    retrain_on_drift: Annotated[bool, Meta(
        description="A drift alert starts a release of [release] with training_source=both (it still waits "
        "for approval).")] = False
    retrain_cooldown: Annotated[str, Meta(
        description="After a retraining release started, later drift alerts of that model start none for this "
        "long (recorded as skipped): 30m, 6h, 1d.")] = "6h"

    def __post_init__(self) -> None:
        # a typo fails when the settings load, not after the next alert was raised
        match = _DURATION.match(str(self.retrain_cooldown))
        if not match or float(match.group(1)) <= 0:
            raise FieldError("retrain_cooldown",
                             f"'{self.retrain_cooldown}' is not a duration; use a number and a unit: 30m, 6h, 1d")


class ServingSettings(_Section):
    endpoint: Annotated[str | None, Meta(
        description="Endpoint `mloop serve` serves when none is named (the serving container).")] = None
    poll_interval: Annotated[float, Meta(
        gt=0, le=1.0, description="Seconds between checks of the endpoint configuration (hot swap).")] = 1.0
    max_body_bytes: Annotated[int, Meta(
        gt=0, description="Largest request body of the model server and the inference app (413 above)."
    )] = 6 * 1024 * 1024
    offload_bytes: Annotated[int, Meta(
        ge=0, description="Requests with larger bodies (about 50 CSV rows) are parsed and predicted in a worker "
        "thread, so they never stall the event loop.")] = 2048
    predict_threads: Annotated[int, Meta(
        ge=1, le=64, description="Worker threads per server process for those larger requests.")] = 4
    routing_header: Annotated[str, Meta(
        description="Header whose value pins a caller to one variant (sticky).")] = "X-Mloop-Routing-Key"
    max_error_rate: Annotated[float, Meta(
        ge=0, le=1, description="Guardrail: a canary with a higher 5xx rate is set to weight 0.")] = 0.05
    max_p99_ms: Annotated[float, Meta(gt=0, description="Guardrail: canary p99 latency limit (ms).")] = 500.0
    guardrail_window_s: Annotated[float, Meta(gt=0, description="Guardrail sliding window (seconds).")] = 60.0
    guardrail_min_requests: Annotated[int, Meta(
        ge=1, description="Guardrail: requests in the window before a canary can be judged.")] = 20
    allow_target_variant: Annotated[bool, Meta(
        description="Let any caller pick a variant with X-Mloop-Target-Variant (tests); otherwise the header "
        "needs a token with the deployer role.")] = False
    guardrail_max_rows: Annotated[int, Meta(
        ge=1, description="Guardrail latency counts only requests of at most this many rows, so large valid batches "
        "cannot trip it.")] = 100
    image: Annotated[str, Meta(description="Serving container image (KServe export).")] = "mloop-serving:latest"
    allowed_hosts: Annotated[list[str], Meta(
        description="Host names `mloop serve` answers to (default: its bind address and localhost; '*' for "
        "any; a 0.0.0.0 bind checks nothing unless set).")] = field(default_factory=list)
    input_policy: Annotated[Literal["warn", "reject"], Meta(
        description="Records holding what the model never saw (unknown categories, numbers outside the "
        "training range, wrong kinds, few features): warn = score and report them, reject = "
        "answer 400. Per endpoint: `mloop deploy --input-policy`.")] = "warn"


class ReleaseSettings(_Section):
    """Releases (`mloop release`): commit -> train & register -> approval -> deploy -> verify."""

    pipeline: Annotated[str | None, Meta(description="Pipeline a release runs (built-in or [pipelines] name).")] = None
    parameters: Annotated[dict[str, Any], Meta(
        description="Run parameters of that pipeline.")] = field(default_factory=dict)
    model: Annotated[str | None, Meta(description="Registered model the pipeline registers a version of.")] = None
    endpoint: Annotated[str | None, Meta(description="Endpoint a release deploys to.")] = None
    canary_weight: Annotated[Annotated[int, Meta(ge=1, le=99)] | None, Meta(
        description="Deploy as a canary variant with this traffic weight (%); unset: production.")] = None
    use_latest_approved: Annotated[bool, Meta(
        description="Deploy the newest Approved version instead of the one the release registered.")] = False
    approval_timeout: Annotated[Annotated[float, Meta(gt=0)] | None, Meta(
        description="Seconds to wait for approval before the release fails; unset: wait forever.")] = None
    verify_payload: Annotated[list[dict[str, Any]] | None, Meta(
        description="Records sent by the smoke invocation of Verify (default: the model's input example).")] = None
    verify_url: Annotated[str | None, Meta(
        description="Base URL of the running model server Verify calls; unset: the endpoint in-process.")] = None
    poll_interval: Annotated[float, Meta(
        gt=0, description="Seconds between checks while waiting (approval, lock).")] = 1.0
    deploy_lock_timeout: Annotated[float, Meta(
        gt=0, description="Seconds to wait for another release to finish deploying the same endpoint.")] = 600.0
    driver_idle_s: Annotated[float, Meta(
        gt=0, description="A background release driver waiting for approval exits after this long; the release "
        "keeps waiting and `mloop release approve` starts a new driver.")] = 600.0


class FeatureSettings(_Section):
    flush_rows: Annotated[int, Meta(
        ge=1, description="put_records: flush the spool to Parquet at this many rows.")] = 50_000
    flush_seconds: Annotated[float, Meta(
        gt=0, description="put_records: flush records older than this many seconds.")] = 30.0


class Settings(_Section):
    """The effective configuration of one workspace."""

    database_url: Annotated[str, Meta(
        description="Metadata database (SQLAlchemy URL): sqlite:///path or postgresql+psycopg://..."
    )] = "sqlite:///.mloop/mloop.db"
    artifact_root: Annotated[str, Meta(
        description="Artifact store root: a local path or s3://bucket/prefix.")] = ".mloop/artifacts"
    online_store_url: Annotated[str, Meta(
        description="Online feature store: sqlite:///path or redis://host:port/db.")] = "sqlite:///.mloop/online.db"
    tracking_uri: Annotated[str, Meta(
        description="MLflow tracking store: sqlite:///path or http://mlflow-server:5000."
    )] = "sqlite:///.mloop/mlflow.db"
    mlflow_artifact_root: Annotated[str, Meta(
        description="Where a local MLflow store keeps run artifacts.")] = ".mloop/mlflow-artifacts"
    s3_endpoint_url: Annotated[str | None, Meta(
        description="S3-compatible endpoint (MinIO, moto); AWS when unset.")] = None
    principal: Annotated[str, Meta(
        description="Who you are, for audit trails (trimmed and casefolded; commands prove it with "
        "MLOOP_TOKEN when [auth] cli = 'token').")] = field(default_factory=_os_user)
    log_level: Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR"], Meta(
        description="Log level of servers and commands.")] = "INFO"
    pipelines: Annotated[dict[str, str], Meta(
        description="Project pipelines: name -> 'module:function'.")] = field(default_factory=dict)
    allowed_data_roots: Annotated[list[str], Meta(
        description="[pipelines] allowed_data_roots: directories or URL prefixes that data_source-like "
        "parameters given over HTTP may name, besides the workspace and the artifact store."
    )] = field(default_factory=list)
    registry: Annotated[RegistrySettings, Meta()] = field(default_factory=RegistrySettings)
    auth: Annotated[AuthSettings, Meta()] = field(default_factory=AuthSettings)
    alerts: Annotated[AlertSettings, Meta()] = field(default_factory=AlertSettings)
    release: Annotated[ReleaseSettings, Meta()] = field(default_factory=ReleaseSettings)
    app: Annotated[AppSettings, Meta()] = field(default_factory=AppSettings)
    monitoring: Annotated[MonitoringSettings, Meta()] = field(default_factory=MonitoringSettings)
    server: Annotated[ServerSettings, Meta()] = field(default_factory=ServerSettings)
    lineage: Annotated[LineageSettings, Meta()] = field(default_factory=LineageSettings)
    serving: Annotated[ServingSettings, Meta()] = field(default_factory=ServingSettings)
    features: Annotated[FeatureSettings, Meta()] = field(default_factory=FeatureSettings)

    def __post_init__(self) -> None:
        # One spelling per person, so `Root` cannot approve what `root` registered.
        self.principal = " ".join(self.principal.split()).casefold()
