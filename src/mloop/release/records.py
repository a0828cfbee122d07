"""Release records: one row per release, one per stage; every transition is one transaction.

A release is driven by one process at a time (its `driver`, `host:pid`, with a heartbeat). A
stage's completion is written in the same transaction as its outputs, so after a crash the
record says exactly which stages finished and what they produced; `resume` starts at the first
stage that did not.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from mloop.errors import Conflict, NotFound
from mloop.release.drivers import TERMINAL, driver_alive, now
from mloop.release.errors import DriverLost
from mloop.release.lock import unlock_in
from mloop.release.tables import release_stages, releases

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from mloop.store import Database

STAGES: tuple[str, ...] = ("Source", "TrainRegister", "Approval", "Deploy", "Verify")


@dataclass
class StageRecord:
    """One stage of a release: status, times, outputs."""

    name: str
    position: int
    status: str
    attempts: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    detail: str | None = None
    error: str | None = None

    @property
    def seconds(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.finished_at or now()
        return round((end - self.started_at).total_seconds(), 2)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "seconds": self.seconds}


@dataclass
class Release:
    """A release: what it deploys where, its status and its stages in order."""

    id: int
    endpoint: str
    model: str
    pipeline: str
    params: dict[str, Any]
    options: dict[str, Any]
    status: str
    stage: str | None
    message: str | None
    commit: str | None
    branch: str | None
    model_version: int | None
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    driver: str | None
    heartbeat_at: datetime | None
    stages: list[StageRecord] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    @property
    def driven(self) -> bool:
        """Whether a live process is driving this release right now."""
        return not self.finished and driver_alive(self.driver, self.heartbeat_at)

    def stage_record(self, name: str) -> StageRecord:
        return next(s for s in self.stages if s.name == name)

    def outputs(self, name: str) -> dict[str, Any]:
        return dict(self.stage_record(name).outputs)

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k != "stages"}
        data["driven"] = self.driven
        data["stages"] = [s.to_dict() for s in self.stages]
        return data


def _release(row: Any, stage_rows: list[Any]) -> Release:
    data = dict(row._mapping)
    stages = [
        StageRecord(
            name=s.name, position=s.position, status=s.status, attempts=s.attempts or 0,
            started_at=s.started_at, finished_at=s.finished_at,
            outputs=dict(s.outputs or {}), detail=s.detail, error=s.error,
        )
        for s in sorted(stage_rows, key=lambda s: s.position)
    ]
    return Release(**data, stages=stages)


def load(conn: Connection, release_id: int, *, for_update: bool = False) -> Release:
    """The release `release_id` read inside `conn`'s transaction (row-locked when asked)."""
    query = select(releases).where(releases.c.id == release_id)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"release {release_id} not found", hint="List releases with `mloop release list`.")
    stage_rows = list(conn.execute(select(release_stages).where(release_stages.c.release_id == release_id)))
    return _release(row, stage_rows)


def get_release(db: Database, release_id: int) -> Release:
    """One release with its stages.

    Raises:
        NotFound: no such release.
    """
    with db.begin() as conn:
        return load(conn, release_id)


def list_releases(
    db: Database, *, endpoint: str | None = None, limit: int = 50
) -> list[Release]:
    """Releases, newest first, optionally for one endpoint."""
    query = select(releases).order_by(releases.c.id.desc()).limit(limit)
    if endpoint:
        query = query.where(releases.c.endpoint == endpoint)
    with db.begin() as conn:
        rows = list(conn.execute(query))
        ids = [r.id for r in rows]
        stage_rows = list(conn.execute(select(release_stages).where(release_stages.c.release_id.in_(ids))))
    by_id: dict[int, list[Any]] = {}
    for s in stage_rows:
        by_id.setdefault(s.release_id, []).append(s)
    return [_release(r, by_id.get(r.id, [])) for r in rows]


def insert_release(conn: Connection, values: dict[str, Any]) -> int:
    """Insert a release and its stages (all Pending) in `conn`'s transaction."""
    at = now()
    result = conn.execute(
        releases.insert().values(status="Pending", stage=STAGES[0], created_at=at, updated_at=at, **values)
    )
    release_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    conn.execute(
        release_stages.insert(),
        [
            {"release_id": release_id, "name": name, "position": i, "status": "Pending",
             "attempts": 0, "outputs": {}}
            for i, name in enumerate(STAGES)
        ],
    )
    return release_id


def claim(db: Database, release_id: int, driver: str) -> Release:
    """Make `driver` the one process driving the release.

    Raises:
        Conflict: the release already finished, or a live process drives it.
    """
    with db.begin() as conn:
        release = load(conn, release_id, for_update=True)
        if release.finished:
            raise Conflict(
                f"release {release_id} already finished ({release.status}); nothing to resume",
                hint="Start a new one with `mloop release start`.",
            )
        if release.driver not in (None, driver) and driver_alive(release.driver, release.heartbeat_at):
            raise Conflict(
                f"release {release_id} is being driven by process {release.driver}",
                hint=f"Follow it with `mloop release status {release_id} --watch`.",
            )
        at = now()
        conn.execute(
            update(releases).where(releases.c.id == release_id)
            .values(driver=driver, heartbeat_at=at, updated_at=at, status="Executing")
        )
        return load(conn, release_id)


def _owned(conn: Connection, release_id: int, driver: str) -> Release:
    release = load(conn, release_id, for_update=True)
    if release.driver != driver:
        raise DriverLost(f"release {release_id} is now driven by {release.driver or 'nobody'}")
    return release


def heartbeat(db: Database, release_id: int, driver: str) -> bool:
    """Refresh the heartbeat; False when another process took the release over."""
    with db.begin() as conn:
        result = conn.execute(
            update(releases).where(releases.c.id == release_id, releases.c.driver == driver)
            .values(heartbeat_at=now())
        )
        return bool(result.rowcount)


def update_stage(
    db: Database, release_id: int, driver: str, name: str, *, begin: bool = False,
    detail: str | None = None, outputs: dict[str, Any] | None = None,
) -> None:
    """Mark a stage Executing (`begin`), or record progress: a detail line and partial outputs."""
    with db.begin() as conn:
        release = _owned(conn, release_id, driver)
        stage = release.stage_record(name)
        values: dict[str, Any] = {}
        if begin:
            values.update(status="Executing", started_at=now(), finished_at=None,
                          attempts=stage.attempts + 1, error=None)
        if detail is not None:
            values["detail"] = detail
        if outputs:
            values["outputs"] = {**stage.outputs, **outputs}
        if values:
            conn.execute(update(release_stages).where(
                release_stages.c.release_id == release_id, release_stages.c.name == name).values(**values))
        conn.execute(update(releases).where(releases.c.id == release_id)
                     .values(stage=name, updated_at=now()))


def complete_stage(
    db: Database, release_id: int, driver: str, name: str, outputs: dict[str, Any],
    release_values: dict[str, Any] | None = None,
) -> Release:
    """Mark a stage Succeeded with its outputs, atomically; the last stage finishes the release."""
    with db.begin() as conn:
        release = _owned(conn, release_id, driver)
        stage = release.stage_record(name)
        at = now()
        conn.execute(update(release_stages).where(
            release_stages.c.release_id == release_id, release_stages.c.name == name
        ).values(status="Succeeded", finished_at=at, outputs={**stage.outputs, **outputs}))
        values = dict(release_values or {})
        values.update(updated_at=at)
        if name == STAGES[-1]:
            values.update(status="Succeeded", finished_at=at, driver=None, stage=name)
            unlock_in(conn, release.endpoint, release_id)
        else:
            values["stage"] = STAGES[STAGES.index(name) + 1]
        conn.execute(update(releases).where(releases.c.id == release_id).values(**values))
        return load(conn, release_id)


def end_release(
    db: Database, release_id: int, driver: str | None, name: str, *, status: str, error: str,
    outputs: dict[str, Any] | None = None,
) -> Release:
    """End the release as Failed or Rejected at stage `name`, atomically with that stage."""
    with db.begin() as conn:
        release = _owned(conn, release_id, driver) if driver else load(conn, release_id, for_update=True)
        stage = release.stage_record(name)
        at = now()
        conn.execute(update(release_stages).where(
            release_stages.c.release_id == release_id, release_stages.c.name == name
        ).values(status=status, finished_at=at, error=error, outputs={**stage.outputs, **(outputs or {})}))
        conn.execute(update(releases).where(releases.c.id == release_id).values(
            status=status, stage=name, message=error, finished_at=at, updated_at=at, driver=None))
        unlock_in(conn, release.endpoint, release_id)
        return load(conn, release_id)


def let_go(db: Database, release_id: int, driver: str) -> None:
    """Stop driving an unfinished release (interrupted): `resume` can pick it up at once."""
    with db.begin() as conn:
        conn.execute(update(releases).where(releases.c.id == release_id, releases.c.driver == driver)
                     .values(driver=None, updated_at=now()))
