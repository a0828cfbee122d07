"""The settings schema: every key declared once, with its type, default and doc.

Each concept's keys live in a section (`[registry]`, `[serving]`...); `Settings` is the whole
tree. The loader (`mloop.config`) fills it from defaults, `mloop.toml`, the environment and
arguments.
"""

from __future__ import annotations

import getpass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mloop.config.policy_language import parse
from mloop.errors import ConfigError


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return "unknown"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ApprovalPolicy(_Section):
    auto_approve: str | None = Field(
        None, description='An expression over a new version\'s metrics, e.g. "r2 >= 0.8"; a version '
        "that satisfies it is approved by `policy:<model>` (default: none, a human approves).")
    distinct_approver: bool = Field(
        False, description="Under the four-eyes rule, the policy counts as an approver distinct "
        "from whoever registered the version (otherwise a human must still approve).")

    @field_validator("auto_approve")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse(value)  # a typo fails when the settings load, not at the next registration
            except ConfigError as exc:
                raise ValueError(f"{exc.message}. {exc.hint}") from exc
        return value


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
    policies: dict[str, ApprovalPolicy] = Field(
        default_factory=dict, description="Approval policy per model: [registry.policies.<model>]."
    )


class TokenSpec(_Section):
    principal: str = Field(description="Who the token belongs to.")
    role: Literal["viewer", "approver", "deployer", "admin"] = Field(description="What it may do.")


class AuthSettings(_Section):
    tokens: dict[str, TokenSpec] = Field(
        default_factory=dict,
        description="Legacy plaintext tokens: moved into the metadata database (hashed) on first use. "
        "Issue tokens with `mloop auth tokens create`.",
    )
    anonymous_read: bool | Literal["loopback"] = Field(
        "loopback", description="Reads need no token: true, false, or 'loopback' (only while the "
        "control plane listens on 127.0.0.1 / localhost).",
    )
    cli: Literal["token", "os"] | None = Field(
        None, description="How CLI mutations prove who runs them: 'token' (MLOOP_TOKEN) or 'os' "
        "(the configured principal). Unset: 'os' on the workspace's own SQLite database, else 'token'.",
    )
    session_hours: float = Field(12.0, gt=0, le=24 * 30, description="Dashboard sessions expire after this long.")
    login_failures_per_minute: int = Field(
        5, ge=1, le=1000, description="Failed dashboard logins allowed per client address (and per principal "
        "whose token a wrong one starts like) in a moving minute; more get 429 with Retry-After.",
    )


class ServerSettings(_Section):
    host: str = Field("127.0.0.1", description="Where `mloop server` (the control plane) binds.")
    port: int = Field(8000, ge=0, le=65535, description="Port of `mloop server`.")
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Origins that may call the control plane from a browser (CORS); none by default.",
    )
    cors_methods: list[str] = Field(
        default_factory=lambda: ["GET"], description="HTTP methods those origins may use."
    )
    read_timeout_s: float = Field(
        30.0, gt=0, le=3600,
        description="Seconds a client may take to send one request (headers and body) to any mloop "
                    "server (control plane, model server, inference app); slower connections are closed.",
    )
    max_body_bytes: int = Field(
        1024 * 1024, gt=0, description="Largest request body of the control plane (forms, JSON); 413 above."
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names `mloop server` answers to (default: its bind address and localhost; a 0.0.0.0 "
        "bind: localhost, the machine's names and interface addresses; '*' for any).",
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
    experiment_check_s: float = Field(
        30.0, gt=0, description="How often the app looks at running experiments on its endpoint (decide, promote)."
    )
    timeout_seconds: float = Field(10.0, gt=0, description="Timeout of one call to the endpoint.")
    max_records: int = Field(1000, gt=0, description="Most records one /api/predict call may carry.")
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names `mloop app` answers to (default: its bind address and localhost; a 0.0.0.0 "
        "bind: localhost, the machine's names and interface addresses; '*' for any).",
    )


class MonitoringSettings(_Section):
    """Drift reports (`mloop monitor drift`) and the thresholds that raise an alert."""

    window: str = Field("1h", description="How far back the interactions of a drift report reach.")
    psi_threshold: float = Field(0.2, ge=0, description="Alert when a feature's PSI passes this.")
    ks_threshold: float = Field(0.2, ge=0, le=1, description="Alert when a numeric KS statistic passes this.")
    ks_pvalue: float = Field(0.01, gt=0, le=1, description="...and its p-value is below this.")
    missing_rate_threshold: float = Field(
        0.1, ge=0, le=1, description="Alert when a feature's missing rate grows by more than this."
    )
    min_rows: int = Field(
        30, ge=1, description="Fewer interactions than this (overall, or for one model version and variant): "
                              "report 'insufficient data', never alert."
    )
    retrain_on_drift: bool = Field(
        False, description="A drift alert starts a release of [release] with training_source=both "
                           "(it still waits for approval)."
    )
    retrain_cooldown: str = Field(
        "6h", description="After a retraining release started, later drift alerts of that model start "
                          "none for this long (recorded as skipped): 30m, 6h, 1d."
    )

    @field_validator("retrain_cooldown")
    @classmethod
    def _duration(cls, value: str) -> str:
        import re

        # a typo fails when the settings load, not after the next alert was raised
        match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$", str(value))
        if not match or float(match.group(1)) <= 0:
            raise ValueError(f"'{value}' is not a duration; use a number and a unit: 30m, 6h, 1d")
        return value


class ServingSettings(_Section):
    endpoint: str | None = Field(
        None, description="Endpoint `mloop serve` serves when none is named (the serving container)."
    )
    poll_interval: float = Field(
        1.0, gt=0, le=1.0, description="Seconds between checks of the endpoint configuration (hot swap)."
    )
    max_body_bytes: int = Field(
        6 * 1024 * 1024, gt=0, description="Largest request body of the model server and the inference app (413 above)."
    )
    offload_bytes: int = Field(
        8192, ge=0, description="Requests with larger bodies (about 200 CSV rows) are parsed and predicted "
                                "in a worker thread, so they never stall the event loop; smaller ones share "
                                "model calls on the loop."
    )
    process_bytes: int = Field(
        1 << 20, ge=0, description="Requests with larger bodies are parsed and predicted in a worker process "
                                   "(their parsing would hold the interpreter lock for every other request); "
                                   "0: never.",
    )
    predict_threads: int = Field(
        4, ge=1, le=64, description="Worker threads per server process for those larger requests."
    )
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
    allow_target_variant: bool = Field(
        False, description="Let any caller pick a variant with X-Mloop-Target-Variant (tests); "
        "otherwise the header needs a token with the deployer role.",
    )
    guardrail_max_rows: int = Field(
        100, ge=1, description="Guardrail latency counts only requests of at most this many rows, "
        "so large valid batches cannot trip it.",
    )
    shadow_queue_size: int = Field(
        1000, ge=1, description="Request copies waiting for the shadow variants per server process; "
        "beyond it copies are dropped and counted, never waited for.",
    )
    shadow_cpu_share: float = Field(
        0.02, gt=0, le=1, description="Share of a core the shadow worker of a server process may use; "
        "past it, it pauses and the queue drops copies, so a shadow costs callers little under load.",
    )
    image: str = Field("mloop-serving:latest", description="Serving container image (KServe export).")
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names `mloop serve` answers to (default: its bind address and localhost; "
        "'*' for any; a 0.0.0.0 bind: localhost, the machine's names and interface addresses).",
    )
    input_policy: Literal["warn", "reject"] = Field(
        "warn", description="Records holding what the model never saw (unknown categories, numbers outside "
        "the training range, wrong kinds, few features): warn = score and report them, reject = answer 400. "
        "Per endpoint: `mloop deploy --input-policy`."
    )


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
    driver_idle_s: float = Field(
        600.0, gt=0, description="A background release driver waiting for approval exits after this long; "
        "the release keeps waiting and `mloop release approve` starts a new driver."
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

    @model_validator(mode="before")
    @classmethod
    def _pipeline_options(cls, data: Any) -> Any:
        # `[pipelines]` names pipelines; its one option key lives beside it as a typed field.
        if isinstance(data, dict) and isinstance(data.get("pipelines"), dict) \
                and "allowed_data_roots" in data["pipelines"]:
            pipelines = dict(data["pipelines"])
            data = {**data, "pipelines": pipelines, "allowed_data_roots": pipelines.pop("allowed_data_roots")}
        return data

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
    principal: str = Field(
        default_factory=_os_user,
        description="Who you are, for audit trails (trimmed and casefolded; commands prove it with "
        "MLOOP_TOKEN when [auth] cli = 'token').",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level of servers and commands."
    )
    pipelines: dict[str, str] = Field(
        default_factory=dict, description="Project pipelines: name -> 'module:function'."
    )
    allowed_data_roots: list[str] = Field(
        default_factory=list,
        description="[pipelines] allowed_data_roots: directories or URL prefixes that data_source-like "
        "parameters given over HTTP may name, besides the workspace and the artifact store.",
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

    @field_validator("principal")
    @classmethod
    def _normalized(cls, value: str) -> str:
        # One spelling per person, so `Root` cannot approve what `root` registered.
        return " ".join(value.split()).casefold()
