"""`mloop deploy` and `mloop endpoints list|show|history|set-weights|promote|compare|rollback|delete|export`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from mloop.cli._auth import authorize
from mloop.cli._output import JsonOption, console, emit, print_json, table, workspace

EndpointName = typer.Argument(..., help="Endpoint name (see `mloop endpoints list`).")
endpoints_app = typer.Typer(help="Endpoints: variants, weights, history, promote, rollback, export.",
                            no_args_is_help=True)


def _render_endpoint(ep: dict[str, Any]) -> None:
    out = console()
    follow = f"  follows [bold]{ep['follow_model']}[/]" if ep.get("follow_model") else ""
    if ep.get("follow_model") and ep.get("follow_canary_weight"):
        follow += f" (canary {ep['follow_canary_weight']}%)"
    out.print(f"endpoint [bold]{ep['name']}[/]  generation {ep['generation']}{follow}")
    limits = {k: v for k, v in (ep.get("guardrails") or {}).items() if k != "input_policy"}
    if limits:
        out.print("guardrails: " + ", ".join(f"{k}={v}" for k, v in limits.items()))
    if (ep.get("guardrails") or {}).get("input_policy"):
        out.print(f"input policy: {ep['guardrails']['input_policy']}")
    rows = [{**v, "weight": f"shadow ({v['sample']:.0%} copied)" if v.get("shadow") else v["weight"]}
            for v in ep["variants"]]
    table(rows, ["name", "model_name", "model_version", "weight", "deployed_at"])


def deploy(
    endpoint: str = typer.Argument(..., help="Endpoint name (created on first deploy)."),
    model: str = typer.Option(..., "--model", "-m", help="Registered model name."),
    version: int | None = typer.Option(None, "--version", "-v", help="Model version to deploy."),
    latest_approved: bool = typer.Option(False, "--latest-approved", help="Deploy the newest Approved version."),
    variant: str = typer.Option("production", "--variant", help="Variant name (production, canary...)."),
    weight: int | None = typer.Option(None, "--weight", help="Traffic share 0-100 (default 100); others share "
                                      "the rest."),
    shadow: bool = typer.Option(False, "--shadow", help="Deploy as a shadow: a copy of the requests, after they "
                                "were answered; its answers are only logged (see `mloop endpoints compare`)."),
    sample: float | None = typer.Option(None, "--sample", help="With --shadow: share of requests copied (0-1, "
                                        "default 1)."),
    follow_approved: bool = typer.Option(False, "--follow-approved",
                                         help="Also deploy every newer Approved version automatically."),
    canary_weight: int | None = typer.Option(None, "--canary-weight",
                                             help="With --follow-approved: new versions arrive as a canary."),
    max_error_rate: float | None = typer.Option(
        None, "--max-error-rate",
        help="Guardrail: canary 5xx rate limit (default: the serving.max_error_rate setting)."),
    max_p99_ms: float | None = typer.Option(None, "--max-p99-ms", help="Guardrail: canary p99 limit in ms."),
    input_policy: str | None = typer.Option(
        None, "--input-policy", help="warn: score records holding what the model never saw and report it; "
        "reject: answer 400 (default: serving.input_policy)."),
    as_json: bool = JsonOption,
) -> None:
    """Deploy an Approved model version to an endpoint variant (servers pick it up live)."""
    from mloop.errors import InvalidInput
    from mloop.serving import deploy as do_deploy

    if shadow:
        _deploy_shadow(endpoint, model, version, latest_approved, variant, weight, sample,
                       follow_approved or canary_weight is not None or max_error_rate is not None
                       or max_p99_ms is not None or input_policy is not None, as_json)
        return
    if sample is not None:
        raise InvalidInput("--sample is the share of requests copied to a shadow: it needs --shadow")
    if canary_weight is not None and not follow_approved:
        raise InvalidInput("--canary-weight needs --follow-approved")
    if canary_weight is not None and not 1 <= canary_weight <= 99:
        raise InvalidInput(f"--canary-weight must be 1-99, got {canary_weight}")
    if max_error_rate is not None and not 0 <= max_error_rate <= 1:
        raise InvalidInput(f"--max-error-rate is a fraction 0-1, got {max_error_rate}")
    if input_policy is not None:
        from mloop.serving.server.input_policy import check_policy

        check_policy(input_policy, "--input-policy")
    limits = {k: v for k, v in (("max_error_rate", max_error_rate), ("max_p99_ms", max_p99_ms),
                                ("input_policy", input_policy)) if v is not None}
    ws = workspace()
    who = authorize(ws, "deployer", action="`mloop deploy`")
    ep = do_deploy(ws, endpoint, model, version=version, latest_approved=latest_approved,
                   variant=variant, weight=100 if weight is None else weight, follow_approved=follow_approved,
                   canary_weight=canary_weight, guardrails=limits or None, principal=who)
    emit(ep.to_dict(), as_json, _render_endpoint)


def _deploy_shadow(endpoint: str, model: str, version: int | None, latest_approved: bool, variant: str,
                   weight: int | None, sample: float | None, endpoint_options: bool, as_json: bool) -> None:
    from mloop.errors import InvalidInput
    from mloop.serving import deploy_shadow

    if weight is not None:
        raise InvalidInput("--shadow and --weight exclude each other: a shadow takes no traffic",
                           hint=f"Deploy the shadow, then give it traffic: `mloop endpoints promote {endpoint} "
                                f"{variant if variant != 'production' else 'shadow'} --weight W`.")
    if endpoint_options:
        raise InvalidInput("--shadow takes only --model, --version/--latest-approved, --variant and --sample",
                           hint="Guardrails, input policy and --follow-approved belong to the live variants.")
    if variant == "production":
        raise InvalidInput("a shadow needs its own variant name", hint="e.g. `--variant shadow`.")
    ws = workspace()
    who = authorize(ws, "deployer", action="`mloop deploy --shadow`")
    ep = deploy_shadow(ws, endpoint, model, variant=variant, version=version, latest_approved=latest_approved,
                       sample=1.0 if sample is None else sample, principal=who)
    emit(ep.to_dict(), as_json, _render_endpoint)


@endpoints_app.command("list")
def list_cmd(as_json: bool = JsonOption) -> None:
    """Every endpoint and its variants."""
    from mloop.serving import list_endpoints

    rows = [{"name": e.name, "generation": e.generation, "follow": e.follow_model,
             "variants": ", ".join(f"{v.name}={v.model_name}:v{v.model_version}"
                                   + (f"@shadow({v.sample:g})" if v.shadow else f"@{v.weight}%") for v in e.variants)}
            for e in list_endpoints(workspace())]
    empty = "no endpoints yet; create one with `mloop deploy ENDPOINT --model NAME --latest-approved`"
    emit(rows, as_json, lambda r: table(r, ["name", "variants", "generation", "follow"]) if r
         else console().print(empty))


@endpoints_app.command("show")
def show(endpoint: str = EndpointName, as_json: bool = JsonOption) -> None:
    """One endpoint: variants, weights, what it follows."""
    from mloop.serving import get_endpoint

    emit(get_endpoint(workspace(), endpoint).to_dict(), as_json, _render_endpoint)


@endpoints_app.command("history")
def history_cmd(endpoint: str = EndpointName, limit: int = typer.Option(50, "--limit", help="How many (newest first)."),
                as_json: bool = JsonOption) -> None:
    """Every configuration change, newest first (deploys, weights, promotes, rollbacks, guardrails)."""
    from mloop.serving import history

    rows = history(workspace(), endpoint, limit=limit)
    for row in rows:
        row["config"] = ", ".join(f"{v['name']}={v['model_name']}:v{v['model_version']}@{v['weight']}%"
                                  for v in row["variants"])
        row["why"] = row["detail"].get("reason", "")
    emit(rows, as_json, lambda r: table(r, ["generation", "at", "action", "principal", "config", "why"]))


@endpoints_app.command("set-weights")
def set_weights_cmd(endpoint: str = EndpointName,
                    weights: list[str] = typer.Argument(..., help="VARIANT=WEIGHT ... (sum 100)"),
                    as_json: bool = JsonOption) -> None:
    """Shift traffic between variants, e.g. `production=90 canary=10`."""
    from mloop.serving import set_weights
    from mloop.serving.endpoints import parse_weights

    ws = workspace()
    ep = set_weights(ws, endpoint, parse_weights(weights),
                     principal=authorize(ws, "deployer", action="`mloop endpoints set-weights`"))
    emit(ep.to_dict() if ep else {}, as_json, _render_endpoint)


@endpoints_app.command("promote")
def promote_cmd(endpoint: str = EndpointName,
                variant_arg: str | None = typer.Argument(None, metavar="[VARIANT]",
                                                         help="The variant to promote (default: canary)."),
                variant: str | None = typer.Option(None, "--variant", help="Same as VARIANT."),
                weight: int | None = typer.Option(None, "--weight", help="Give it this share (1-99) as a canary "
                                                  "instead of all the traffic; required for a shadow."),
                as_json: bool = JsonOption) -> None:
    """Make the canary the production variant (100% of the traffic), or a shadow a canary (--weight W)."""
    from mloop.errors import InvalidInput
    from mloop.serving import promote

    if variant_arg and variant and variant_arg != variant:
        raise InvalidInput(f"two variants named: '{variant_arg}' and --variant '{variant}'")
    ws = workspace()
    who = authorize(ws, "deployer", action="`mloop endpoints promote`")
    ep = promote(ws, endpoint, variant_arg or variant or "canary", weight=weight, principal=who)
    emit(ep.to_dict(), as_json, _render_endpoint)


@endpoints_app.command("compare")
def compare_cmd(endpoint: str = EndpointName,
                since: str = typer.Option("1h", "--since", help="Look back this far (90s, 15m, 1h, 7d)."),
                threshold: float = typer.Option(0.5, "--threshold", help="Classifiers: the decision threshold."),
                as_json: bool = JsonOption) -> None:
    """Shadows against production on the same requests: volume, errors, latency, drops, agreement."""
    from mloop.serving import compare

    emit(compare(workspace(), endpoint, since=since, threshold=threshold), as_json, _render_compare)


def _render_compare(report: dict[str, Any]) -> None:
    out = console()
    out.print(f"endpoint [bold]{report['endpoint']}[/], last {report['since']} (copied requests only)")
    if not report["variants"]:
        out.print("nothing logged yet: the prediction log is written while a shadow is deployed and served "
                  f"(`mloop deploy {report['endpoint']} --model M --version N --variant shadow --shadow`)")
        return
    rows = []
    for v in report["variants"]:
        agree = v.get("agreement") or {}
        rows.append({
            "variant": v["variant"] + (" (shadow)" if v["shadow"] else ""), "model": f"{v['model']}:v{v['version']}",
            "requests": v["requests"], "errors": v["errors"], "p50_ms": _num(v["latency_ms"]["p50"]),
            "p99_ms": _num(v["latency_ms"]["p99"]), "dropped": "" if v["dropped"] is None else v["dropped"],
            "pairs": agree.get("pairs", ""),
            "decisions_differ": _num(agree.get("decisions_differ")), "spearman": _num(agree.get("spearman")),
            "mean_abs_diff": _num(agree.get("mean_abs_diff")), "mean_rel_diff": _num(agree.get("mean_rel_diff")),
        })
    table(rows, ["variant", "model", "requests", "errors", "p50_ms", "p99_ms", "dropped", "pairs",
                 "decisions_differ", "spearman", "mean_abs_diff", "mean_rel_diff"])


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


@endpoints_app.command("rollback")
def rollback_cmd(endpoint: str = EndpointName, as_json: bool = JsonOption) -> None:
    """Go back to the previous configuration (repeat to walk further back)."""
    from mloop.serving import rollback

    ws = workspace()
    who = authorize(ws, "deployer", action="`mloop endpoints rollback`")
    emit(rollback(ws, endpoint, principal=who).to_dict(), as_json, _render_endpoint)


@endpoints_app.command("delete")
def delete_cmd(endpoint: str = EndpointName, as_json: bool = JsonOption) -> None:
    """Delete an endpoint with its history; a server still running for it answers 503."""
    from mloop.serving.endpoints.retire import delete_endpoint

    ws = workspace()
    authorize(ws, "deployer", action="`mloop endpoints delete`")
    gone = delete_endpoint(ws, endpoint)
    emit(gone.to_dict(), as_json, lambda ep: console().print(
        f"deleted endpoint {ep['name']} (generation {ep['generation']}, "
        f"{len(ep['variants'])} variant(s)); its history and prediction log went with it"))


@endpoints_app.command("export")
def export_cmd(
    endpoint: str = EndpointName,
    target: str = typer.Option("kserve", "--target", help="Only 'kserve' (an InferenceService manifest)."),
    image: str | None = typer.Option(None, "--image", help="Serving image (default: the serving.image setting)."),
    namespace: str | None = typer.Option(
        None, "--namespace", help="Kubernetes namespace of the InferenceService (default: none in the manifest)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write here instead of stdout."),
    as_json: bool = JsonOption,
) -> None:
    """Write a KServe InferenceService manifest for the endpoint."""
    import yaml

    from mloop.errors import InvalidInput
    from mloop.serving.endpoints.export import kserve_manifest

    if target != "kserve":
        raise InvalidInput(f"unknown export target '{target}'", hint="known: kserve")
    ws = workspace()
    manifest = kserve_manifest(ws, endpoint, image=image, namespace=namespace)
    if not (ws.db.is_shared and ws.artifacts.is_shared):
        console(stderr=True).print("[yellow]note:[/] this workspace uses a local database/artifact store; "
                                   "pods need shared ones (PostgreSQL database_url, s3:// artifact_root).")
    if as_json and output is None:
        print_json(manifest)
        return
    text = yaml.safe_dump(manifest, sort_keys=False)
    if output is None:
        typer.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    console().print(f"wrote [bold]{output}[/]")


def register(app: typer.Typer) -> None:
    app.command("deploy")(deploy)
    app.add_typer(endpoints_app, name="endpoints")
