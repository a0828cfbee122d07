"""Offline files checked against their digests, and damaged ones rebuilt from their sources.

Every committed ingestion's Parquet file is content-addressed, so a flipped byte is detectable.
Readers (extract, training sets) translate DuckDB's raw error into an `IntegrityError` that names
the group, the ingestion and the repair; `verify` checks a whole group and, with `repair`,
rebuilds each damaged file from its source (when the source still hashes to what was ingested)
and points the ingestion at the rebuilt file: same rows, same ingestion order, no duplicate.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mloop.errors import ArtifactNotFound, IntegrityError
from mloop.features.groups import get_group, ingestions, list_groups
from mloop.features.ingest_report import IngestReport, Quarantine, file_hash
from mloop.features.staging import stage_file, staging_paths
from mloop.features.tables import feature_ingestions as t

if TYPE_CHECKING:
    from mloop.features.groups import Ingestion
    from mloop.features.schema import FeatureGroup
    from mloop.store import Workspace

OK, DAMAGED, REPAIRED, UNREPAIRABLE = "ok", "damaged", "repaired", "unrepairable"


@dataclass
class FileCheck:
    """One ingestion's offline file: ok, damaged (or missing), repaired, or unrepairable (and why)."""

    group: str
    ingestion: int
    source: str
    digest: str
    status: str
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def damaged(ws: Workspace, grp: FeatureGroup) -> list[Ingestion]:
    """The group's ingestions whose Parquet file is missing or no longer matches its digest."""
    bad, seen = [], set()
    for ing in ingestions(ws, grp):
        if ing.digest is None or ing.digest in seen:
            continue
        try:
            ws.artifacts.verify(ing.digest)
            seen.add(ing.digest)
        except (IntegrityError, ArtifactNotFound):
            bad.append(ing)
    return bad


def integrity_error(grp: FeatureGroup, bad: list[Ingestion]) -> IntegrityError:
    """The error readers raise: which group, which ingestions (and their sources), how to repair."""
    first = bad[0]
    listed = "; ".join(f"ingestion {i.id} ({i.kind} {i.source})" for i in bad[:3])
    more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
    return IntegrityError(
        f"feature group '{grp.name}': the offline file of {listed}{more} is damaged or missing",
        hint=f"Rebuild it from its source: `mloop features verify {grp.name} --repair`, or "
             f"`mloop ingest {first.source} --group {grp.name} --force` with the original file.",
    )


def raise_if_damaged(ws: Workspace, groups: list[FeatureGroup]) -> None:
    """After a reader failed: raise the `IntegrityError` when a damaged file is why."""
    for grp in groups:
        bad = damaged(ws, grp)
        if bad:
            raise integrity_error(grp, bad)


def verify(ws: Workspace, group: str | None = None, *, repair: bool = False) -> list[FileCheck]:
    """Re-hash every offline file (of `group`, or of all groups); with `repair`, rebuild damaged ones.

    Returns:
        One `FileCheck` per ingestion with a file.

    Raises:
        FeatureGroupNotFound: `group` does not exist.
    """
    groups = [get_group(ws, group)] if group else list_groups(ws)
    checks = []
    for grp in groups:
        bad = {i.id for i in damaged(ws, grp)}
        for ing in ingestions(ws, grp):
            if ing.digest is None:
                continue
            check = FileCheck(grp.name, ing.id, ing.source, ing.digest, DAMAGED if ing.id in bad else OK)
            if check.status == DAMAGED and repair:
                _repair_one(ws, grp, ing, check)
            checks.append(check)
    return checks


def _repair_one(ws: Workspace, grp: FeatureGroup, ing: Ingestion, check: FileCheck) -> None:
    source = Path(ing.source)
    if ing.kind != "file":
        check.status, check.detail = UNREPAIRABLE, "records written by put_records have no source file to rebuild from"
    elif not source.is_file():
        check.status, check.detail = UNREPAIRABLE, f"the source {source} is gone; ingest a copy with --force"
    elif file_hash(source) != ing.source_hash:
        check.status, check.detail = UNREPAIRABLE, f"{source} has changed since it was ingested"
    else:
        check.digest = rebuild(ws, grp, ing, source)
        check.status = REPAIRED


def repair_from(ws: Workspace, grp: FeatureGroup, source: Path, source_hash: str) -> list[int]:
    """Rebuild every damaged file ingested from content `source_hash` out of `source`; their ids."""
    fixed = []
    for ing in damaged(ws, grp):
        if ing.kind == "file" and ing.source_hash == source_hash:
            rebuild(ws, grp, ing, source)
            fixed.append(ing.id)
    return fixed


def rebuild(ws: Workspace, grp: FeatureGroup, ing: Ingestion, source: Path) -> str:
    """Re-validate `source` into Parquet as ingestion `ing` did, store it, point `ing` at it.

    Raises:
        IntegrityError: the source now yields a different number of rows (the schema changed).
    """
    staging, qpath = staging_paths(ws, grp.name)
    quarantine = Quarantine(qpath)
    report = IngestReport(group=grp.name, source=str(source), source_hash=ing.source_hash)
    try:
        _, kept = stage_file(ws, source, grp, quarantine, staging, None, None, report, now=ing.created_at)
        if kept != ing.rows:
            raise IntegrityError(
                f"cannot rebuild ingestion {ing.id} of '{grp.name}': {source} now gives {kept} rows, "
                f"{ing.rows} were ingested", hint="Ingest it as new data instead (`mloop ingest --force`).")
        digest = ws.artifacts.put(staging)  # heals the object in place when the bytes come out the same
    finally:
        staging.unlink(missing_ok=True)
        Path(quarantine.close() or qpath).unlink(missing_ok=True)
    _point_at(ws, grp, ing, digest)
    return digest


def _point_at(ws: Workspace, grp: FeatureGroup, ing: Ingestion, digest: str) -> None:
    """Every ingestion that shared the damaged file now reads the rebuilt one."""
    from sqlalchemy import update

    with ws.db.begin() as conn:
        conn.execute(update(t).where(t.c.group_id == grp.id, t.c.digest == ing.digest).values(digest=digest))
