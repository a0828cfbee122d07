"""The online store: the newest record per id, for low-latency reads at serving time.

Backends implement `OnlineStore` (a narrow waist of four methods) and are chosen once, by the
URL scheme of `settings.online_store_url` (`SCHEMES`). Optional abilities are declared as
protocols (`TakesRuns`, `SpoolsRecords`) that callers test with `isinstance`, never sniffed.
Rows travel as (id text, event time in epoch microseconds, JSON text); every backend applies a
write only when its event time is at least the stored one, atomically, so an older event never
overwrites a newer one whatever the order or concurrency of writers.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from mloop.errors import ConfigError

if TYPE_CHECKING:
    from mloop.features.online.runs import RunWriter
    from mloop.features.schema import FeatureGroupSpec
    from mloop.store import Workspace

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
    (`online_stage`). Stores without this ability get the committed rows through `put`."""

    def run_writer(self, spec: FeatureGroupSpec) -> RunWriter: ...

    def add_runs(self, group: str, files: Sequence[Path]) -> None: ...


@runtime_checkable
class SpoolsRecords(Protocol):
    """An online store that can spool logged records in the same commit as their online update
    (SQLite's `online_spool` table at `path`): `put_records` then acknowledges both at once."""

    path: Path

    def put_logged(self, group: str, rows: Sequence[Row]) -> None: ...


SCHEMES = {"sqlite": "mloop.features.online.sqlite:SqliteOnlineStore",
           "redis": "mloop.features.online.redis:RedisOnlineStore",
           "rediss": "mloop.features.online.redis:RedisOnlineStore"}

_stores: weakref.WeakKeyDictionary[Workspace, OnlineStore] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def open_online_store(url: str) -> OnlineStore:
    """A new store for `url` (sqlite:///path or redis://host:port/db)."""
    import importlib

    scheme = url.split(":", 1)[0].split("+", 1)[0]
    target = SCHEMES.get(scheme)
    if target is None:
        raise ConfigError(f"online_store_url '{url}' has an unknown scheme '{scheme}'",
                          hint="Use sqlite:///path/online.db or redis://host:6379/0.")
    module, cls = target.split(":")
    store: OnlineStore = getattr(importlib.import_module(module), cls)(url)
    return store


def online_store(ws: Workspace) -> OnlineStore:
    """The workspace's online store, opened once per process."""
    with _lock:
        store = _stores.get(ws)
        if store is None:
            store = open_online_store(ws.settings.online_store_url)
            _stores[ws] = store
        return store
