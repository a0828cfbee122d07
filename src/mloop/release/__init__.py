"""Releases: commit -> train & register -> approval -> deploy -> verify, as a resumable record.

    from mloop.release import start_release, approve_release, get_release
    release = start_release(ws, detach=True)          # Source, then a background driver
    approve_release(ws, release.id, comment="AUC ok")  # through the registry's rules
"""

from mloop.release.engine import StageContext, run_release
from mloop.release.errors import DriverLost, ReleaseInFlight, ReleaseRefused, StageFailed, StageRejected
from mloop.release.hook import install_hook
from mloop.release.records import STAGES, Release, StageRecord, get_release, list_releases
from mloop.release.service import (
    approve_release,
    create_release,
    reject_release,
    resume_release,
    spawn_driver,
    start_release,
    watch_release,
)

__all__ = [
    "STAGES",
    "DriverLost",
    "Release",
    "ReleaseInFlight",
    "ReleaseRefused",
    "StageContext",
    "StageFailed",
    "StageRecord",
    "StageRejected",
    "approve_release",
    "create_release",
    "get_release",
    "install_hook",
    "list_releases",
    "reject_release",
    "resume_release",
    "run_release",
    "spawn_driver",
    "start_release",
    "watch_release",
]
