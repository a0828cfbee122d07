"""`mloop models`: registered models, versions and the approval workflow."""

from __future__ import annotations

from typing import Any

import typer

from mloop.cli._output import JsonOption, console, emit, table, workspace

models_app = typer.Typer(help="Registered models, versions and approvals.", no_args_is_help=True)

_VERSION_COLUMNS = ["version", "status", "metrics", "run_id", "created_at", "registered_by",
                    "decided_by", "comment"]


def _version_row(v: Any) -> dict[str, Any]:
    row = v.to_dict()
    row["metrics"] = ", ".join(f"{k}={_fmt(x)}" for k, x in v.metrics.items()) or None
    row["run_id"] = (v.run_id or "")[:12] or None
    return row


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


@models_app.command("list")
def list_cmd(as_json: bool = JsonOption) -> None:
    """Every registered model: versions, newest, newest Approved, pending approvals."""
    from mloop import registry

    models = registry.list_models(workspace())

    def render(items: list[Any]) -> None:
        if not items:
            console().print("no registered models yet (a pipeline run registers one: `mloop run ...`)")
            return
        table([m.to_dict() for m in items], ["name", "versions", "latest_version", "latest_approved",
                                             "pending", "approved", "rejected", "last_registered_at"])

    emit(models, as_json, render)


@models_app.command("show")
def show(
    name: str = typer.Argument(..., help="Model name."),
    version: int | None = typer.Argument(None, help="One version (all when omitted)."),
    as_json: bool = JsonOption,
) -> None:
    """A model's versions, or one version in detail."""
    from mloop import registry
    from mloop.registry.tagsync import pending_tags

    ws = workspace()
    pending = pending_tags(ws, name)

    def sync_state(v: Any) -> str:
        queued = pending.get(f"{v.name}/{v.version}")
        return f"pending ({queued})" if queued else "synced"

    if version is None:
        items = registry.versions(ws, name)
        emit([{**v.to_dict(), "mlflow_tag": sync_state(v)} for v in items], as_json,
             lambda vs: table([{**_version_row(v), "mlflow_tag": sync_state(v)} for v in items],
                              [*_VERSION_COLUMNS, "mlflow_tag"], title=name))
        return
    item = registry.get_version(ws, name, version)

    def render(v: dict[str, Any]) -> None:
        out = console()
        for key, value in v.items():
            if key == "metadata":
                continue
            out.print(f"[bold]{key:<14}[/] {'-' if value in (None, {}, '') else value}", markup=True)
        meta = dict(v["metadata"] or {})
        features, left_out = meta.pop("features", None), meta.pop("features_left_out", None)
        if features is not None:
            out.print(f"[bold]{'features':<14}[/] " + (", ".join(map(str, features)) or "-"))
        if left_out is not None:
            from mloop.recipes.identifiers import describe_left_out

            out.print(f"[bold]{'left out':<14}[/] " + describe_left_out(left_out))
        out.print(f"[bold]{'metadata':<14}[/] {meta or '-'}")

    emit({**item.to_dict(), "mlflow_tag": sync_state(item)}, as_json, render)


def _decide(verb: str, name: str, version: int, comment: str | None, as_json: bool) -> None:
    from mloop import registry
    from mloop.cli._auth import authorize
    from mloop.registry.tagsync import spawn_drain

    ws = workspace()
    who = authorize(ws, "approver", action=f"`mloop models {verb}`")
    # mloop's records first; MLflow's tag follows from a background process (no MLflow import here)
    result = registry.approve(ws, name, version, principal=who, comment=comment, sync_mlflow=False)
    spawn_drain(ws)
    emit(result, as_json, lambda v: console().print(
        f"{v.name} version {v.version} is now [bold]{v.status}[/] (by {v.decided_by})"))


@models_app.command("approve")
def approve(
    name: str = typer.Argument(..., help="Model name."),
    version: int = typer.Argument(..., help="Version number."),
    comment: str | None = typer.Option(None, "--comment", "-m", help="Why (required by default)."),
    as_json: bool = JsonOption,
) -> None:
    """Approve a version (as MLOOP_TOKEN's principal, or MLOOP_PRINCIPAL); deploys of "latest" will pick it up."""
    _decide("approve", name, version, comment, as_json)


@models_app.command("reject")
def reject(
    name: str = typer.Argument(..., help="Model name."),
    version: int = typer.Argument(..., help="Version number."),
    comment: str | None = typer.Option(None, "--comment", "-m", help="Why (required by default)."),
    undeploy: bool = typer.Option(False, "--undeploy", help="Roll back every endpoint serving it, in the same step."),
    as_json: bool = JsonOption,
) -> None:
    """Reject a version (or revoke its approval); refused while an endpoint serves it, unless --undeploy."""
    from mloop.cli._auth import authorize
    from mloop.registry.tagsync import spawn_drain
    from mloop.serving.endpoints.retire import reject_version

    ws = workspace()
    who = authorize(ws, "deployer" if undeploy else "approver", action="`mloop models reject`")
    result = reject_version(ws, name, version, undeploy=undeploy, principal=who, comment=comment)
    spawn_drain(ws)  # MLflow's tag follows from the outbox

    def render(r: Any) -> None:
        v = r.version
        console().print(f"{v.name} version {v.version} is now [bold]{v.status}[/] (by {v.decided_by})")
        for e in r.rolled_back:
            serving = ", ".join(f"{x.name}={x.model_name} v{x.model_version}@{x.weight}" for x in e.variants)
            console().print(f"endpoint {e.name} rolled back: {serving}")

    emit(result, as_json, render)


@models_app.command("delete")
def delete(
    name: str = typer.Argument(..., help="Model name."),
    version: int | None = typer.Option(None, "--version", "-v", help="Only this version (all when omitted)."),
    as_json: bool = JsonOption,
) -> None:
    """Delete a model version, or the whole model; refused while an endpoint serves it."""
    from mloop.cli._auth import authorize
    from mloop.serving.endpoints.retire import delete_model

    ws = workspace()
    authorize(ws, "admin", action="`mloop models delete`")
    deleted = delete_model(ws, name, version)
    emit({"name": name, "deleted_versions": deleted}, as_json, lambda d: console().print(
        f"deleted {name} version(s) {', '.join(map(str, d['deleted_versions']))}"))


@models_app.command("history")
def history(
    name: str = typer.Argument(..., help="Model name."),
    version: int | None = typer.Option(None, "--version", "-v", help="Only this version."),
    as_json: bool = JsonOption,
) -> None:
    """The approval audit trail: who moved which version from what to what, when and why."""
    from mloop import registry

    items = registry.history(workspace(), name, version)
    emit(items, as_json, lambda ts: table(
        [t.to_dict() for t in ts], ["at", "version", "from_status", "to_status", "principal", "comment"],
        title=f"{name} history"))


@models_app.command("sync")
def sync(
    name: str | None = typer.Argument(None, help="One model (all MLflow models when omitted)."),
    as_json: bool = JsonOption,
) -> None:
    """Adopt versions registered straight into MLflow (they start PendingManualApproval).

    A version MLflow holds no registering principal for counts as registered by whoever adopts
    it (MLOOP_TOKEN's principal in token mode), so its approval needs someone else.
    """
    from mloop import registry
    from mloop.cli._auth import authorize

    ws = workspace()
    who = authorize(ws, "deployer", action="`mloop models sync`")
    adopted = registry.sync(ws, name, principal=who)
    emit(adopted, as_json, lambda vs: console().print(
        "\n".join(f"adopted {v.name} version {v.version} (PendingManualApproval)" for v in vs)
        or "nothing to adopt: mloop knows every MLflow version"))


@models_app.command("sync-tags")
def sync_tags(
    quiet: bool = typer.Option(False, "--quiet", help="Print nothing."),
    max_seconds: float | None = typer.Option(
        None, "--max-seconds", min=0,
        help="Stop after this many seconds (what is left stays pending); default: until done."),
) -> None:
    """Bring MLflow's approval-status tags up to date with mloop's decisions (the outbox)."""
    from mloop.registry.tagsync import drain_tags, pending_tags

    ws = workspace()
    done = drain_tags(ws, budget_s=max_seconds)
    if not quiet:
        left = pending_tags(ws)
        console().print(f"{done} MLflow tags updated" + (f"; {len(left)} still pending" if left else ""))


@models_app.command("register")
def register_cmd(
    name: str = typer.Argument(..., help="Registered model name."),
    from_run: str = typer.Option(..., "--from-run", help="The pipeline run that produced the model."),
    task: str = typer.Option(..., "--task", help="The step (KFP task) whose output it is."),
    output: str = typer.Option("model", "--output", help="The output name of that step."),
    as_json: bool = JsonOption,
) -> None:
    """Register a KFP `Model` artifact of a run as a new PendingManualApproval version."""
    from mloop.cli._auth import authorize
    from mloop.pipelines.kfp_frontend.registry import register_from_run

    ws = workspace()
    who = authorize(ws, "deployer", action="`mloop models register`")
    version = register_from_run(ws, name, from_run, task, output, principal=who)
    emit(version, as_json, lambda v: console().print(
        f"registered {v.name} version {v.version} ({v.status}); "
        f"approve it: `mloop models approve {v.name} {v.version}`"))


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
