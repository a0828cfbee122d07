"""`mloop lineage dump|show|model|endpoint|artifact`: the lineage graph from the terminal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from mloop.cli._output import JsonOption, console, emit, print_json, workspace
from mloop.store.files import atomic_write

lineage_app = typer.Typer(help="Lineage of pipelines, models, endpoints and artifacts.", no_args_is_help=True)

COLOURS = {"Succeeded": "green", "Cached": "cyan", "Executing": "yellow", "Pending": "dim",
           "Failed": "red", "Stopped": "magenta", "Skipped": "dim", "NotStarted": "dim"}


def _status(status: str | None) -> str:
    status = status or "NotStarted"
    return f"[{COLOURS.get(status, 'white')}]{status}[/]"


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


@lineage_app.command("dump")
def dump(
    pipeline: str = typer.Option(..., "--pipeline", "--pipeline-name", help="Pipeline name."),
    include_latest_exec: bool = typer.Option(
        True, "--include-latest-exec/--definition-only", help="Add the latest run (default) or not."),
    run_id: str | None = typer.Option(None, "--run-id", help="Describe this run instead of the latest."),
    out: Path | None = typer.Option(None, "--out", help="Write the JSON here (default: stdout)."),
) -> None:
    """Write a pipeline's lineage in seed 004's JSON format (the seed's local dump tool)."""
    from mloop import lineage

    data = lineage.pipeline(workspace(), pipeline, include_latest_exec=include_latest_exec, run_id=run_id)
    if out is None:
        print_json(data)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, json.dumps(data, indent=2) + "\n")  # nothing is left behind when --out is a directory
    s = data["summary"]
    console().print(f"wrote {out}: {len(data['graph']['nodes'])} nodes, {len(data['graph']['edges'])} edges, "
                    f"{len(data['graph']['artifacts'])} artifacts; {_status(s['overallStatus'])}")


def _where(item: dict[str, Any]) -> str:
    """A short location: the digest of a stored artifact, else the URI (models:/..., mloop://...)."""
    from rich.markup import escape

    if item.get("digest"):
        return f"sha256:{item['digest'][:12]}"
    return escape(str(item.get("uri")))


def _render_pipeline(data: dict[str, Any]) -> None:
    from rich.markup import escape
    from rich.tree import Tree

    s, execution = data["summary"], data.get("execution")
    head = f"[bold]{escape(data['pipeline']['name'])}[/] {_status(s['overallStatus'])} {_secs(s['elapsedSec'])}"
    if execution:
        head += f"  [dim]run {execution['runId']}[/]"
    tree = Tree(head)
    incoming: dict[str, list[str]] = {}
    for edge in data["graph"]["edges"]:
        label = edge["from"] + (f" [{edge['branch']}]" if edge.get("branch") else "")
        incoming.setdefault(edge["to"], []).append(f"{label} ({edge['via']})")
    for node in data["graph"]["nodes"]:
        run = node["run"] or {}
        line = f"{_status(run.get('status'))} [bold]{escape(node['id'])}[/] [dim]{node['type']}[/]"
        if run:
            line += f" {_secs(run.get('elapsedSec'))}"
            if run.get("cached"):
                line += " [cyan](cached)[/]"
            if run.get("attempts", 0) > 1:
                line += f" [yellow]{run['attempts']} attempts[/]"
        branch = tree.add(line)
        if incoming.get(node["id"]):
            branch.add(f"[dim]after:[/] {escape(', '.join(incoming[node['id']]))}")
        metrics = run.get("metrics") or {}
        if metrics:
            branch.add("[dim]metrics:[/] " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                                      for k, v in sorted(metrics.items())))
        for item in node["outputs"]:
            if item.get("uri"):
                branch.add(f"[dim]→ {escape(item['name'])}:[/] {_where(item)}")
        if run.get("error"):
            branch.add(f"[red]{escape(run['error'])}[/]")
        elif run.get("message"):
            branch.add(f"[dim]{escape(run['message'])}[/]")
    console().print(tree)


@lineage_app.command("show")
def show(
    name: str = typer.Argument(..., help="Pipeline name."),
    run_id: str | None = typer.Option(None, "--run-id", help="This run instead of the latest."),
    as_json: bool = JsonOption,
) -> None:
    """Show a pipeline's latest run as a tree, coloured by step status."""
    from mloop import lineage

    emit(lineage.pipeline(workspace(), name, run_id=run_id), as_json, _render_pipeline)


def _render_model(data: dict[str, Any]) -> None:
    from rich.markup import escape
    from rich.tree import Tree

    m = data["model"]
    tree = Tree(f"[bold]{escape(m['name'])}[/] v{m['version']} {_status(m['status'])}  [dim]{m['modelUri']}[/]")
    approvals = tree.add("approvals")
    for a in data["approvals"]:
        approvals.add(f"{a['at']} {a['from'] or '-'} → {_status(a['to'])} by {a['principal'] or '-'}"
                      + (f": {escape(a['comment'])}" if a.get("comment") else ""))
    run = data["run"]
    if run:
        node = tree.add(f"run [bold]{run['runId']}[/] of {escape(run['pipeline'])} {_status(run['status'])}"
                        + (f", step {run['step']}" if run.get("step") else ""))
        for item in data["data"]:
            node.add(f"[dim]data[/] {escape(item['name'])} {_where(item)} [dim]{escape(str(item.get('type')))}[/]")
        for group in data["featureGroups"]:
            version = group.get("dataVersion")
            node.add(f"[dim]feature group[/] {escape(group['name'])}" + (f" v{version}" if version else ""))
    else:
        tree.add("[dim]no pipeline run recorded for this version[/]")
    deployed = tree.add("deployments")
    for d in data["deployments"]:
        deployed.add(f"{escape(d['endpoint'])}/{escape(d['variant'])} weight {d['weight']}")
    if data.get("triggeredBy"):
        cause = tree.add("triggered by")
        for link in data["triggeredBy"]:
            cause = cause.add(f"{escape(link['node'])} [dim]({escape(link['relation'])} {escape(link['target'])})[/]")
    console().print(tree)


@lineage_app.command("model")
def model(
    name: str = typer.Argument(..., help="Registered model name."),
    version: int = typer.Argument(..., help="Model version."),
    as_json: bool = JsonOption,
) -> None:
    """Where a model version came from (run, data, feature groups, approvals) and where it runs."""
    from mloop import lineage

    emit(lineage.model(workspace(), name, version), as_json, _render_model)


@lineage_app.command("endpoint")
def endpoint(name: str = typer.Argument(..., help="Endpoint name."), as_json: bool = JsonOption) -> None:
    """The chain behind each variant of an endpoint."""
    from mloop import lineage

    def render(data: dict[str, Any]) -> None:
        console().print(f"[bold]endpoint {data['endpoint']['name']}[/] (generation {data['endpoint']['generation']})")
        for v in data["variants"]:
            console().print(f"  variant {v['variant']} weight {v['weight']}: {v['model']} v{v['version']}")
            if v["lineage"]:
                _render_model(v["lineage"])

    emit(lineage.endpoint(workspace(), name), as_json, render)


@lineage_app.command("artifact")
def artifact(digest: str = typer.Argument(..., help="sha256 digest."), as_json: bool = JsonOption) -> None:
    """Who produced an artifact and who used it."""
    from mloop import lineage

    def render(data: dict[str, Any]) -> None:
        out = console()
        a, p = data["artifact"], data["producer"]
        out.print(f"[bold]{a['digest'][:12]}[/] {a['uri']} ({a.get('size')} bytes, {a.get('type')})")
        if p:
            out.print(f"  produced by {p['jobArn']} output {p.get('output')}")
        for c in data["consumers"]:
            out.print(f"  used by {c['jobArn']} as {c['input']}")

    emit(lineage.artifact(workspace(), digest), as_json, render)


def register(app: typer.Typer) -> None:
    app.add_typer(lineage_app, name="lineage")
