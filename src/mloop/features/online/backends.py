"""Choosing the online store's backend, once, by the URL scheme of `settings.online_store_url`.

`SCHEMES` is the one table of backends: a new backend is a module of this package and a line
here. Backends load on first use (importing the Redis client is the Redis backend's business).
"""

from __future__ import annotations

import importlib
import threading
import weakref
from typing import TYPE_CHECKING

from mloop.errors import ConfigError

if TYPE_CHECKING:
    from mloop.features.online.base import OnlineStore
    from mloop.store import Workspace

SCHEMES = {"sqlite": "mloop.features.online.sqlite:SqliteOnlineStore",
           "redis": "mloop.features.online.redis:RedisOnlineStore",
           "rediss": "mloop.features.online.redis:RedisOnlineStore"}

_stores: weakref.WeakKeyDictionary[Workspace, OnlineStore] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def open_online_store(url: str) -> OnlineStore:
    """A new store for `url` (sqlite:///path or redis://host:port/db)."""
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
