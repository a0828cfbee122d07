"""`mloop release ...`: start, follow, approve and resume releases; install the git hook."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from mloop.cli._auth import authorize
from mloop.cli._output import JsonOption, console, print_json, table, workspace
from mloop.errors import NotFound


def _esc(text: str) -> str:
    from rich.markup import escape

    return escape(text)

if TYPE_CHECKING:
    from mloop.release import Release

release_app = typer.Typer(
    help="Releases: commit -> train & register -> approval -> deploy -> verify.", no_args_is_help=True
)
_STYLE = {"Succeeded": "green", "Failed": "red", "Rejected": "red", "Executing": "yellow",
          "Pending": "dim"}


def _status(word: str) -> str:
    return f"[{_STYLE.get(word, 'white')}]{word}[/]"


def _headline(release: Release) -> str:
    version = f" v{release.model_version}" if release.model_version else ""
    commit = (release.commit or "")[:10]
    return (f"release [bold]{release.id}[/] {_status(release.status)} · {release.model}{version} → "
            f"endpoint [bold]{release.endpoint}[/] · {release.pipeline} @ {commit} ({release.branch})")


def _render(release: Release) -> None:
    out = console()
    out.print(_headline(release))
    rows = [{"stage": s.name, "status": s.status, "attempts": s.attempts or None, "seconds": s.seconds,
             "detail": _esc(_detail(s)) or None} for s in release.stages]
    table(rows, ["stage", "status", "attempts", "seconds", "detail"])
    if release.message:
        out.print(f"[red]{_esc(release.message)}[/]" if release.status != "Succeeded" else _esc(release.message))
    if not release.finished and not release.driven:
        out.print(f"[dim]no process is driving it: continue with `mloop release resume {release.id}`[/]")


def _detail(stage: Any) -> str:
    if stage.status == "Succeeded":
        return _summary(stage.outputs) or stage.detail or ""
    return stage.error or stage.detail or ""


def _summary(outputs: dict[str, Any]) -> str:
    if "checks" in outputs:  # Verify: one short line per protocol
        return ", ".join(f"{c['protocol']} {c['status']} v{c['version']} {c['ms']}ms" for c in outputs["checks"])
    keys = ("commit", "run_id", "model_version", "approved_by", "version", "variant", "weight")
    parts = [f"{k}={str(outputs[k])[:40]}" for k in keys if k in outputs]
    return " ".join(parts)


class _Progress:
    """Prints each stage transition once, as it happens."""

    def __init__(self) -> None:
        self.seen: dict[str, tuple[str, str | None]] = {}
        self.out = console()

    def __call__(self, release: Release) -> None:
        for s in release.stages:
            key = (s.status, s.error or s.detail)
            if s.status == "Pending" or self.seen.get(s.name) == key:
                continue
            self.seen[s.name] = key
            text = _detail(s)
            self.out.print(f"  {s.name:<13} {_status(s.status)}" + (f"  {_esc(text)}" if text else ""))


def _finish(release: Release, as_json: bool) -> None:
    if as_json:
        print_json(release.to_dict())
    else:
        _render(release)
    if release.status in ("Failed", "Rejected"):
        raise typer.Exit(1)
    if not release.finished:  # `status --watch` gave up: nobody drives it any more
        raise typer.Exit(2)


@release_app.command("start")
def start(
    commit: str | None = typer.Option(None, "--commit", help="The commit expected to be checked out."),
    allow_dirty: bool = typer.Option(False, "--allow-dirty", help="Release despite uncommitted changes."),
    detach: bool = typer.Option(False, "--detach", help="Drive it in the background (log in .mloop/releases/)."),
    as_json: bool = JsonOption,
) -> None:
    """Start a release of the checked-out commit (runs until it finishes unless --detach)."""
    # deferred: imports pydantic, SQLAlchemy at start (mloop --help time)
    from mloop.release import start_release

    ws = workspace()
    who = authorize(ws, "deployer", action="`mloop release start`")
    progress = None if as_json or detach else _Progress()
    release = start_release(ws, commit=commit, allow_dirty=allow_dirty, detach=detach, on_change=progress,
                            principal=who)
    if detach:
        if as_json:
            print_json(release.to_dict())
        else:
            console().print(f"started release [bold]{release.id}[/] in the background "
                            f"(log: .mloop/releases/{release.id}.log); follow it with "
                            f"`mloop release status {release.id} --watch`")
        return
    _finish(release, as_json)


@release_app.command("status")
def status(
    release_id: int | None = typer.Argument(None, metavar="[ID]", help="Release id (default: the newest)."),
    watch: bool = typer.Option(False, "--watch", "-w", help="Follow it until it finishes (exit 1 if it fails)."),
    as_json: bool = JsonOption,
) -> None:
    """Show a release's stages; --watch follows it to the end."""
    # deferred: imports pydantic, SQLAlchemy at start (mloop --help time)
    from mloop.release import get_release, list_releases, watch_release

    ws = workspace()
    if release_id is None:
        newest = list_releases(ws.db, limit=1)
        if not newest:
            raise NotFound("no release yet", hint="Start one with `mloop release start`.")
        release_id = newest[0].id
    if not watch:
        release = get_release(ws.db, release_id)
        print_json(release.to_dict()) if as_json else _render(release)
        return
    progress = None if as_json else _Progress()
    if progress:
        progress.out.print(_headline(get_release(ws.db, release_id)))
    release = watch_release(ws, release_id, progress or (lambda r: None),
                            poll=ws.settings.release.poll_interval)
    _finish(release, as_json)


@release_app.command("list")
def list_(
    endpoint: str | None = typer.Option(None, "--endpoint", help="Only releases of this endpoint."),
    limit: int = typer.Option(20, "--limit", help="How many (newest first)."),
    as_json: bool = JsonOption,
) -> None:
    """List releases, newest first."""
    # deferred: imports pydantic, SQLAlchemy at start (mloop --help time)
    from mloop.release import list_releases

    found = list_releases(workspace().db, endpoint=endpoint, limit=limit)
    if as_json:
        print_json([r.to_dict() for r in found])
        return
    rows = [{"id": r.id, "status": r.status, "stage": r.stage, "endpoint": r.endpoint, "model": r.model,
             "version": r.model_version, "commit": (r.commit or "")[:10], "created": r.created_at,
             "by": r.created_by} for r in found]
    table(rows, ["id", "status", "stage", "endpoint", "model", "version", "commit", "created", "by"],
          title="releases")


def _decide(verb: str, release_id: int, comment: str | None, as_json: bool) -> None:
    # deferred: imports pydantic, SQLAlchemy at start (mloop --help time)
    from mloop.release import approve_release, reject_release

    ws = workspace()
    who = authorize(ws, "approver", action=f"`mloop release {verb}`")
    act = approve_release if verb == "approve" else reject_release
    release = act(ws, release_id, principal=who, comment=comment)
    if as_json:
        print_json(release.to_dict())
        return
    out = console()
    out.print(f"{verb}d {release.model} v{release.model_version} of release {release.id} "
              f"as {who}")
    if not release.finished and not release.driven:
        out.print(f"no process is driving release {release.id}: continue it with "
                  f"`mloop release resume {release.id}`")
    elif not release.finished:
        out.print(f"follow it with `mloop release status {release.id} --watch`")


@release_app.command("approve")
def approve(
    release_id: int = typer.Argument(..., metavar="ID", help="Release id (see `mloop release list`)."),
    comment: str | None = typer.Option(None, "--comment", "-m", help="Why (the registry may require it)."),
    as_json: bool = JsonOption,
) -> None:
    """Approve the model version a release registered (registry rules apply)."""
    _decide("approve", release_id, comment, as_json)


@release_app.command("reject")
def reject(
    release_id: int = typer.Argument(..., metavar="ID", help="Release id (see `mloop release list`)."),
    comment: str | None = typer.Option(None, "--comment", "-m", help="Why (the registry may require it)."),
    as_json: bool = JsonOption,
) -> None:
    """Reject the model version a release registered; the release ends Rejected."""
    _decide("reject", release_id, comment, as_json)


@release_app.command("resume")
def resume(
    release_id: int = typer.Argument(..., metavar="ID", help="Release id (see `mloop release list`)."),
    detach: bool = typer.Option(False, "--detach", help="Drive it in the background."),
    background: bool = typer.Option(False, "--background", hidden=True,
                                    help="This is the background driver: stop waiting after "
                                         "release.driver_idle_s."),
    as_json: bool = JsonOption,
) -> None:
    """Continue a release from its first unfinished stage (finished stages are never redone)."""
    # deferred: imports pydantic, SQLAlchemy at start (mloop --help time)
    from mloop.release import resume_release

    ws = workspace()
    authorize(ws, "deployer", action="`mloop release resume`")
    progress = None if as_json or detach else _Progress()
    idle = ws.settings.release.driver_idle_s if background else None
    release = resume_release(ws, release_id, on_change=progress, detach=detach, idle_exit_s=idle)
    if detach:
        print_json(release.to_dict()) if as_json else console().print(
            f"resumed release {release.id} in the background (log: .mloop/releases/{release.id}.log)")
        return
    _finish(release, as_json)


@release_app.command("install-hook")
def install_hook(
    allow_dirty: bool = typer.Option(False, "--allow-dirty", help="The hook releases despite other edits."),
    force: bool = typer.Option(False, "--force", help="Replace a post-commit hook mloop did not write."),
    as_json: bool = JsonOption,
) -> None:
    """Install a git post-commit hook that starts a release in the background on every commit."""
    # deferred: imports pydantic, SQLAlchemy at start (mloop --help time)
    from mloop.release import install_hook as install

    ws = workspace()
    path = install(ws, allow_dirty=allow_dirty, force=force)
    data = {"hook": str(path), "log": str(ws.root / ".mloop" / "releases" / "hook.log")}
    if as_json:
        print_json(data)
    else:
        console().print(f"installed [bold]{path}[/]: every commit starts a release "
                        f"(log: {data['log']})")


def register(app: typer.Typer) -> None:
    app.add_typer(release_app, name="release")
