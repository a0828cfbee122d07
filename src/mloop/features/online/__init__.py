"""The online store: the newest record per id, for low-latency reads at serving time.

One concept, one package:

- `base.py`: the waist, `OnlineStore` (four methods) and `Row`, and the optional abilities
  `TakesRuns` and `SpoolsRecords`, which callers test with `isinstance`, never sniff;
- `backends.py`: `SCHEMES`, the one table of backends, chosen once by the URL scheme of
  `settings.online_store_url`;
- `sqlite.py`, `redis.py`: the backends; `sqlite_conn.py` (WAL connections and the writers'
  queue, also used by the record spool) and `runs/` (sorted runs of bulk ingests) serve SQLite's;
- `rows.py`: encoding, Arrow tables and single records become (id, event time µs, JSON) rows;
- above the waist, `write.py` (a Parquet file streamed in, records the spool holds),
  `stage.py` (an ingest's runs, published after its commit; the repair of a publish a crash
  cut off) and `read.py` (`get_online`).

Every backend applies a write only when its event time is at least the stored one, atomically,
so an older event never overwrites a newer one whatever the order or concurrency of writers.
"""

from __future__ import annotations

from mloop.features.online.backends import SCHEMES, online_store, open_online_store
from mloop.features.online.base import OnlineStore, Row, SpoolsRecords, TakesRuns
from mloop.features.online.read import get_online

__all__ = [
    "SCHEMES",
    "OnlineStore",
    "Row",
    "SpoolsRecords",
    "TakesRuns",
    "get_online",
    "online_store",
    "open_online_store",
]
