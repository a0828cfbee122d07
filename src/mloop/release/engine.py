"""The release state machine: run the stages in order, skip the finished ones, record each step.

`run_release` claims the release (one driver at a time, with a heartbeat), then runs every stage
that has not Succeeded. A stage is a function `fn(ctx) -> outputs`; raising `StageRejected` ends
the release Rejected, any other error ends it Failed. Deploy and Verify run under the endpoint's
deploy lock. Stage implementations are injectable (tests); the real ones are the default.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mloop import registry
from mloop.config import CONFIG_FILE
from mloop.errors import MloopError
from mloop.release import records
from mloop.release.drivers import this_driver
from mloop.release.errors import DriverIdle, DriverLost, StageFailed, StageRejected
from mloop.release.lock import try_lock
from mloop.release.records import STAGES, Release
from mloop.release.stages import STAGE_FUNCTIONS

if TYPE_CHECKING:
    from mloop.store import Workspace

StageFn = Callable[["StageContext"], "dict[str, Any] | None"]
OnChange = Callable[[Release], None]
HEARTBEAT_S = 2.0
LOCKED_STAGES = ("Deploy", "Verify")
# Stage outputs that are also columns of the release (for listing without reading stages).
RELEASE_COLUMNS = ("commit", "branch", "model_version")


@dataclass
class StageContext:
    """What a stage sees: the workspace, the release as it stood, and ways to report progress."""

    ws: Workspace
    release: Release
    stage: str
    driver: str
    lost: threading.Event = field(default_factory=threading.Event)
    on_change: OnChange | None = None
    idle_exit_s: float | None = None  # a background driver stops waiting after this long
    started: float = field(default_factory=time.monotonic)

    @property
    def options(self) -> dict[str, Any]:
        """The release settings snapshotted when the release started."""
        return dict(self.release.options)

    def outputs(self, stage: str) -> dict[str, Any]:
        """The recorded outputs of an earlier stage (or this one's partial outputs)."""
        return self.release.outputs(stage)

    def progress(self, detail: str | None = None, **outputs: Any) -> None:
        """Record a detail line and partial outputs now (they survive a crash)."""
        records.update_stage(self.ws.db, self.release.id, self.driver, self.stage,
                             detail=detail, outputs=outputs)
        self.release = records.get_release(self.ws.db, self.release.id)
        if self.on_change:
            self.on_change(self.release)

    def still_wanted(self, waiting_for: str) -> None:
        """Raise `DriverIdle` when a background driver has waited long enough, or its workspace
        was deleted: a detached helper must not outlive its work (the release stays resumable)."""
        if not (self.ws.root / CONFIG_FILE).exists():
            raise DriverIdle(f"the workspace {self.ws.root} is gone; stopped {waiting_for}")
        if self.idle_exit_s is not None and time.monotonic() - self.started > self.idle_exit_s:
            from datetime import UTC, datetime

            # the mark tells `approve_release` to start a new driver (after a crash, `resume` does)
            self.progress(f"{waiting_for}: the background driver stopped after {self.idle_exit_s:g} s; "
                          f"`mloop release approve {self.release.id}` drives it on",
                          driver_idle_at=datetime.now(UTC).isoformat())
            raise DriverIdle(
                f"stopped {waiting_for} after {self.idle_exit_s:g} s (release.driver_idle_s)",
                hint=f"`mloop release approve {self.release.id}` (or `resume`) drives it on.")

    def sleep(self, seconds: float) -> None:
        """Wait, but stop at once if another process took the release over."""
        if self.lost.wait(seconds):
            raise DriverLost(f"release {self.release.id} was taken over by another process")


class _Heartbeat(threading.Thread):
    def __init__(self, ws: Workspace, release_id: int, driver: str) -> None:
        super().__init__(name=f"release-{release_id}-heartbeat", daemon=True)
        self.ws, self.release_id, self.driver = ws, release_id, driver
        self.lost = threading.Event()
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(HEARTBEAT_S):
            try:
                if not records.heartbeat(self.ws.db, self.release_id, self.driver):
                    self.lost.set()
                    return
            except MloopError:
                continue  # a database hiccup: beat again next time

    def stop(self) -> None:
        self._stop_event.set()


def default_stages() -> dict[str, StageFn]:
    """The real stage implementations."""
    return dict(STAGE_FUNCTIONS)


def run_release(
    ws: Workspace, release_id: int, *, stages: Mapping[str, StageFn] | None = None,
    on_change: OnChange | None = None, idle_exit_s: float | None = None,
) -> Release:
    """Drive a release to its end from its first unfinished stage.

    Args:
        ws: the workspace.
        release_id: the release to drive.
        stages: stage implementations to use instead of the real ones (by stage name).
        on_change: called with the release after every recorded transition.
        idle_exit_s: stop waiting for an approval after this long and return the release
            unfinished and undriven (background drivers; a decision starts a new one).

    Returns:
        The release when it finished (Succeeded, Failed or Rejected), or unfinished after
        `idle_exit_s`.

    Raises:
        NotFound: no such release.
        Conflict: it already finished, or another live process drives it.
    """
    impl = dict(stages) if stages and set(stages) >= set(STAGES) else {**default_stages(), **(stages or {})}
    driver = this_driver()
    while True:
        release = records.claim(ws.db, release_id, driver)
        try:
            return _drive(ws, release, impl, driver, on_change, idle_exit_s)
        except DriverIdle:
            release = records.get_release(ws.db, release_id)
            if not _decided(ws, release):
                return release
            # the decision landed while this driver let go: whoever decided saw it still driven


def _drive(ws: Workspace, release: Release, impl: dict[str, StageFn], driver: str,
           on_change: OnChange | None, idle_exit_s: float | None) -> Release:
    beat = _Heartbeat(ws, release.id, driver)
    beat.start()
    try:
        for name in STAGES:
            if release.stage_record(name).status == "Succeeded":
                continue  # never redo a finished stage
            release = _run_stage(ws, release, name, impl[name], driver, beat.lost, on_change, idle_exit_s)
            if release.finished:
                break
        return release
    finally:
        beat.stop()
        if not release.finished:
            records.let_go(ws.db, release.id, driver)


def _decided(ws: Workspace, release: Release) -> bool:
    """Whether the release's version left PendingManualApproval (someone decided)."""
    if release.finished or release.model_version is None or release.model is None:
        return False
    return registry.get_version(ws, release.model, int(release.model_version)).status != registry.PENDING


def _run_stage(
    ws: Workspace, release: Release, name: str, fn: StageFn, driver: str,
    lost: threading.Event, on_change: OnChange | None, idle_exit_s: float | None = None,
) -> Release:
    records.update_stage(ws.db, release.id, driver, name, begin=True, detail="")
    release = records.get_release(ws.db, release.id)
    _notify(on_change, release)
    ctx = StageContext(ws=ws, release=release, stage=name, driver=driver, lost=lost, on_change=on_change,
                       idle_exit_s=idle_exit_s)
    try:
        if name in LOCKED_STAGES:
            _take_deploy_lock(ctx)
        outputs = dict(fn(ctx) or {})
    except (DriverLost, DriverIdle):
        raise
    except StageRejected as exc:
        release = records.end_release(ws.db, release.id, driver, name, status="Rejected",
                                      error=_describe(exc))
    except MloopError as exc:
        release = records.end_release(ws.db, release.id, driver, name, status="Failed",
                                      error=_describe(exc))
    except Exception as exc:  # noqa: BLE001 — a bug or a third-party failure must still end the stage visibly
        release = records.end_release(ws.db, release.id, driver, name, status="Failed",
                                      error=f"unexpected {type(exc).__name__}: {exc}")
    else:
        columns = {k: outputs[k] for k in RELEASE_COLUMNS if k in outputs}
        release = records.complete_stage(ws.db, release.id, driver, name, outputs, columns)
    _notify(on_change, release)
    return release


def _take_deploy_lock(ctx: StageContext) -> None:
    release = ctx.release
    timeout = float(release.options.get("deploy_lock_timeout") or 600.0)
    poll = float(release.options.get("poll_interval") or 1.0)
    deadline = time.monotonic() + timeout
    reported: int | None = None
    while (holder := try_lock(ctx.ws.db, release.endpoint, release.id)) is not None:
        if holder != reported:
            ctx.progress(f"waiting for release {holder} to finish deploying endpoint '{release.endpoint}'")
            reported = holder
        if time.monotonic() > deadline:
            raise StageFailed(
                f"release {holder} held the deploy lock of endpoint '{release.endpoint}' "
                f"for more than {timeout:g} s",
                hint=f"Check it with `mloop release status {holder}`, then `mloop release resume {release.id}`.",
            )
        ctx.sleep(poll)
    if ctx.stage == "Deploy":
        from datetime import UTC, datetime

        ctx.progress(lock_acquired_at=datetime.now(UTC).isoformat())


def _describe(exc: MloopError) -> str:
    return f"{exc.message} (hint: {exc.hint})" if exc.hint else exc.message


def _notify(on_change: OnChange | None, release: Release) -> None:
    if on_change is not None:
        on_change(release)
