"""The online store's waist: the `OnlineStore` protocol every backend implements, the row it
takes, and the optional abilities a backend declares (`TakesRuns`, `SpoolsRecords`).

Rows travel as (id text, event time in epoch microseconds, JSON text); every backend applies a
write only when its event time is at least the stored one, atomically, so an older event never
overwrites a newer one whatever the order or concurrency of writers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from mloop.features.online.runs import RunWriter
    from mloop.features.schema import FeatureGroupSpec

Row = tuple[str, int, str]  # (id, event time µs since epoch, JSON object of feature values)


class OnlineStore(Protocol):
    def put(self, group: str, rows: Iterable[Row]) -> None:
        """Upsert rows; a row whose event time is older than the stored one is ignored."""
        ...

    def get(self, group: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored record of each id, decoded (whatever form the backend keeps it in);
        ids not stored are absent."""
        ...

    def delete_group(self, group: str) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class TakesRuns(Protocol):
    """An online store that ingests sorted run files instead of row upserts (SQLite): an ingest
    stages its rows in a `RunWriter` while it validates and registers the runs after its commit
    (`online.stage`). Stores without this ability get the committed rows through `put`."""

    def run_writer(self, spec: FeatureGroupSpec) -> RunWriter: ...

    def add_runs(self, group: str, files: Sequence[Path]) -> None: ...


@runtime_checkable
class SpoolsRecords(Protocol):
    """An online store that can spool logged records in the same commit as their online update
    (SQLite's `online_spool` table at `path`): `put_records` then acknowledges both at once."""

    path: Path

    def put_logged(self, group: str, rows: Sequence[Row]) -> None: ...
