"""`mloop features list|show|create|delete` and `mloop ingest FILE --group NAME`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from mloop.cli._auth import authorize
from mloop.cli._output import JsonOption, console, emit, print_json, table, workspace
from mloop.errors import InvalidInput

if TYPE_CHECKING:
    from mloop.features import IngestReport

features_app = typer.Typer(help="Feature groups: schemas, data versions, ingestions.",
                           no_args_is_help=True)

_COLUMNS = ["name", "type", "nullable", "constraints", "role"]


def _schema_rows(spec: Any) -> list[dict[str, Any]]:
    rows = []
    for f in spec.features:
        rules = []
        if f.allowed is not None:
            rules.append("in " + ", ".join(map(str, f.allowed)))
        if f.min is not None:
            rules.append(f">= {f.min}")
        if f.max is not None:
            rules.append(f"<= {f.max}")
        role = {spec.record_identifier: "record id", spec.event_time: "event time"}.get(f.name, "")
        rows.append({"name": f.name, "type": f.type, "nullable": "yes" if f.nullable else "no",
                     "constraints": "; ".join(rules), "role": role})
    return rows


@features_app.command("list")
def list_cmd(as_json: bool = JsonOption) -> None:
    """List feature groups with their data version."""
    # deferred: imports pydantic, SQLAlchemy at start (mloop --help time)
    from mloop.features import list_groups

    groups = list_groups(workspace())
    data = [{"name": g.name, "id": g.spec.record_identifier, "event_time": g.spec.event_time,
             "features": len(g.spec.features), "data_version": g.data_version,
             "online": g.spec.online, "created_at": g.created_at} for g in groups]

    def render(rows: list[dict[str, Any]]) -> None:
        if not rows:
            console().print("no feature groups yet; create one with `mloop features create`")
            return
        table(rows, ["name", "id", "event_time", "features", "data_version", "online", "created_at"])

    emit(data, as_json, render)


@features_app.command("show")
def show(name: str = typer.Argument(..., help="Feature group name."), as_json: bool = JsonOption) -> None:
    """Show a group's schema and its ingestions."""
    # deferred: imports pydantic, SQLAlchemy at start (mloop --help time)
    from mloop.features import get_group
    from mloop.features.groups import ingestions
    from mloop.features.records import spooled_count

    ws = workspace()
    group = get_group(ws, name)
    history = [{"version": i.version, "kind": i.kind, "rows": i.rows, "rejected": i.rejected,
                "source": i.source, "created_at": i.created_at, "quarantine": i.quarantine}
               for i in ingestions(ws, group)]
    spooled = spooled_count(ws, name)
    data = {**group.to_dict(), "ingestions": history, "spooled_records": spooled}

    def render(_: Any) -> None:
        out = console()
        out.print(f"[bold]{group.name}[/]  data version {group.data_version}  "
                  f"online {'on' if group.spec.online else 'off'}  {group.spec.description}")
        if spooled:
            out.print(f"{spooled} acknowledged records spooled: online now, offline at the next "
                      "flush (a writer's flusher, or the next pipeline extract of this group)")
        table(_schema_rows(group.spec), _COLUMNS, title="schema")
        if history:
            table(history, ["version", "kind", "rows", "rejected", "source", "created_at"],
                  title="ingestions")

    emit(data, as_json, render)


@features_app.command("create")
def create(
    name: str = typer.Argument(..., help="Feature group name."),
    from_csv: Path | None = typer.Option(None, "--from-csv", help="Infer the schema from this CSV/Parquet."),
    from_file: Path | None = typer.Option(None, "--from-file", help="A spec in TOML or YAML."),
    id_column: str | None = typer.Option(None, "--id", help="Record identifier column (with --from-csv)."),
    event_time: str | None = typer.Option(None, "--event-time", help="Event-time column (with --from-csv)."),
    description: str | None = typer.Option(None, "--description", help="What the group holds."),
    offline_only: bool = typer.Option(False, "--offline-only", help="No online store for this group."),
    as_json: bool = JsonOption,
) -> None:
    """Create a group from a spec file, or infer it from a CSV (prints the schema)."""
    # deferred: imports pydantic, SQLAlchemy at start (mloop --help time)
    from mloop.features import create_group, infer_spec, load_spec_file

    ws = workspace()
    authorize(ws, "deployer", action="`mloop features create`")
    if (from_csv is None) == (from_file is None):
        raise InvalidInput("give exactly one of --from-csv FILE or --from-file SPEC",
                           hint="e.g. `mloop features create ads --from-csv ads.csv --id id`")
    if from_csv is not None:
        if not id_column:
            raise InvalidInput("--from-csv needs --id COLUMN (the record identifier)")
        spec = infer_spec(from_csv, name, id_column, event_time)
    else:
        assert from_file is not None
        spec = load_spec_file(from_file, name)
    if description is not None:
        spec.description = description
    if offline_only:
        spec.online = False
    group = create_group(ws, spec)

    def render(_: Any) -> None:
        console().print(f"created feature group [bold]{group.name}[/]")
        table(_schema_rows(group.spec), _COLUMNS, title="schema")
        console().print(f"next: `mloop ingest FILE --group {group.name}`")

    emit(group.to_dict(), as_json, render)


@features_app.command("delete")
def delete(
    name: str = typer.Argument(..., help="Feature group name."),
    purge: bool = typer.Option(False, "--purge", help="Also its offline files and quarantine files."),
    force: bool = typer.Option(False, "--force", help="Even while an endpoint, app setting or pipeline uses it."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    as_json: bool = JsonOption,
) -> None:
    """Delete a group, its ingestion records, online rows and record spool (--purge: its files too).

    Refused while an endpoint, an app setting or a pipeline refers to the group, unless --force.
    """
    # deferred: imports pydantic, SQLAlchemy at start (mloop --help time)
    from mloop.features import delete_group, get_group
    from mloop.teardown import GroupInUse, group_references, purge_group

    ws = workspace()
    authorize(ws, "admin", action="`mloop features delete`")
    get_group(ws, name)
    refs = group_references(ws, name)
    if refs and not force:
        raise GroupInUse(f"feature group '{name}' is in use by " + "; ".join(refs),
                         hint=f"Change those first, or delete anyway: `mloop features delete {name} --force`.")
    if not yes and not as_json:
        typer.confirm(f"Delete feature group '{name}'{' and its files' if purge else ''}?", abort=True)
    result = purge_group(ws, name, force=True) if purge else {"deleted": name, "offline_files": 0}
    if not purge:
        delete_group(ws, name)
    emit(result, as_json, lambda r: console().print(
        f"deleted feature group {name}" + (f" ({r['offline_files']} offline file(s), {r['artifacts_removed']} "
                                           "artifact(s) removed)" if purge else "")))


@features_app.command("verify")
def verify(
    name: str | None = typer.Argument(None, help="Feature group (default: every group)."),
    repair: bool = typer.Option(False, "--repair", help="Rebuild damaged files from their sources."),
    as_json: bool = JsonOption,
) -> None:
    """Re-hash every offline Parquet file; with --repair, rebuild damaged ones from their sources."""
    # deferred: imports pydantic, SQLAlchemy at start (mloop --help time)
    from mloop.features.verify import OK, REPAIRED
    from mloop.features.verify import verify as run_verify

    ws = workspace()
    if repair:
        authorize(ws, "deployer", action="`mloop features verify --repair`")
    checks = run_verify(ws, name, repair=repair)
    data = [c.to_dict() for c in checks]

    def render(rows: list[dict[str, Any]]) -> None:
        bad = [r for r in rows if r["status"] not in (OK, REPAIRED)]
        if bad or any(r["status"] == REPAIRED for r in rows):
            table(rows, ["group", "ingestion", "status", "source", "detail"])
        console().print(f"{len(rows)} offline files checked: {len(rows) - len(bad)} good"
                        + (f", [red]{len(bad)} damaged[/]" + ("" if repair else " (rebuild: --repair)")
                           if bad else ""))

    emit(data, as_json, render)
    if any(c.status not in (OK, REPAIRED) for c in checks):
        raise typer.Exit(1)


def ingest(
    file: Path = typer.Argument(..., help="CSV (with a header) or Parquet file."),
    group: str = typer.Option(..., "--group", "-g", help="Feature group to ingest into (created if missing)."),
    id_column: str | None = typer.Option(
        None, "--id", help="Record id column: creates the group from the file when it does not exist."),
    event_time: str | None = typer.Option(
        None, "--event-time", help="Event-time column (default: none; rows get the ingest time)."),
    force: bool = typer.Option(False, "--force", help="Ingest even if this content was ingested."),
    max_reject_ratio: float | None = typer.Option(
        None, "--max-reject-ratio", min=0.0, max=1.0,
        help="Refuse the file if more than this share of rows fails validation (default 0.05)."),
    as_json: bool = JsonOption,
) -> None:
    """Validate FILE against the group's schema and ingest it (offline + online).

    A group that does not exist is created from the file (its schema inferred and printed);
    pass --id COLUMN for that. A file that does not fit an existing group is refused.
    """
    # deferred: imports pydantic, SQLAlchemy at start (mloop --help time)
    from mloop.features import ingest as run_ingest

    ws = workspace()
    authorize(ws, "deployer", action="`mloop ingest`")  # ingested rows are the next training set
    options: dict[str, Any] = {"force": force, "max_reject_ratio": max_reject_ratio, "id_column": id_column,
               "event_time": event_time}
    if as_json or not console().is_terminal:
        report = run_ingest(ws, file, group, **options)
    else:
        report = _with_progress(ws, file, group, options)
    if as_json:
        print_json(report.to_dict())
        return
    _print_report(report, ws)


def _with_progress(ws: Any, file: Path, group: str, options: dict[str, Any]) -> IngestReport:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    # deferred: imports pydantic, SQLAlchemy at start (mloop --help time)
    from mloop.features import ingest as run_ingest

    size = file.stat().st_size if file.is_file() else 0
    columns = (TextColumn("[bold]ingest[/]"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
               TextColumn("{task.fields[rows]:,} rows  {task.fields[rate]:,.0f} rows/s"),
               TimeElapsedColumn())
    with Progress(*columns, console=console(stderr=True), transient=True) as bar:
        task = bar.add_task("ingest", total=size or None, rows=0, rate=0.0)

        def update(rows: int, done: int) -> None:
            elapsed = bar.tasks[0].elapsed or 1e-9
            bar.update(task, completed=done, rows=rows, rate=rows / elapsed)

        return run_ingest(ws, file, group, progress=update, **options)


def _print_report(report: IngestReport, ws: Any) -> None:
    out = console()
    if report.repaired:
        out.print(f"[green]repaired[/] the damaged offline file of ingestion(s) "
                  f"{', '.join(map(str, report.repaired))} of '{report.group}' from {report.source}")
        return
    if report.created_group:
        # deferred: imports pydantic, SQLAlchemy at start (mloop --help time)
        from mloop.features import get_group

        spec = get_group(ws, report.group).spec
        out.print(f"created feature group [bold]{report.group}[/] (schema inferred from the file)")
        table(_schema_rows(spec), _COLUMNS, title="schema")
    if report.skipped:
        out.print(f"{report.source} was already ingested into '{report.group}' (same content, "
                  f"{report.ingested} rows); nothing to do. Use --force to ingest it again.")
        return
    out.print(f"[green]ingested[/] {report.ingested:,} of {report.rows:,} rows into "
              f"[bold]{report.group}[/] (data version {report.data_version}) "
              f"in {report.seconds:.2f} s, {report.rows_per_second:,.0f} rows/s")
    if report.rejected:
        out.print(f"[yellow]rejected[/] {report.rejected:,} rows → {report.quarantine}")
        for ex in report.examples:
            unit = "row" if report.position == "row_number" else "line"
            where = f"{unit} {ex['line'] if ex['line'] is not None else '?'}"
            out.print(f"  {where}: {ex['reason']}")
    for note in report.notes():
        out.print(f"[yellow]note[/] {note}")


def register(app: typer.Typer) -> None:
    app.add_typer(features_app, name="features")
    app.command("ingest")(ingest)
