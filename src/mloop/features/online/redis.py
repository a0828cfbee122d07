"""Redis online store: one string per (group, id) holding "<20-digit ts>|<json>".

Writes go through one Lua script per batch that compares the stored timestamp prefix and
sets only when the new one is not older: atomic on the server, so concurrent writers from any
number of processes keep the newest event. Reads are a single MGET.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mloop.error_map import ExceptionTable, map_exceptions
from mloop.errors import ConfigError, MloopError, StoreAccessDenied, StoreUnavailable
from mloop.features.online.base import Row

_PUT = """
for i = 1, #KEYS do
  local new = ARGV[i]
  local cur = redis.call('GET', KEYS[i])
  if (not cur) or string.sub(cur, 1, 20) <= string.sub(new, 1, 20) then
    redis.call('SET', KEYS[i], new)
  end
end
return #KEYS
"""
_BATCH = 1000
_OFFSET = 10**18  # keeps pre-1970 timestamps positive so the 20-digit prefix sorts as text


class RedisOnlineStore:
    def __init__(self, url: str) -> None:
        try:
            import redis
        except ImportError as exc:
            raise ConfigError("online_store_url needs the redis client",
                              hint="pip install 'mloop[redis]'") from exc
        self.url = url
        self.client = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)
        self._script = self.client.register_script(_PUT)

    def _key(self, group: str, ident: str) -> str:
        return f"mloop:fg:{group}:{ident}"

    def _call(self, fn: Any) -> Any:
        with map_exceptions(REDIS_ERRORS, url=self.url):
            return fn()

    def put(self, group: str, rows: Iterable[Row]) -> None:
        keys: list[str] = []
        values: list[str] = []
        for ident, ts, data in rows:
            keys.append(self._key(group, ident))
            values.append(f"{ts + _OFFSET:020d}|{data}")
            if len(keys) >= _BATCH:
                self._flush(keys, values)
                keys, values = [], []
        if keys:
            self._flush(keys, values)

    def _flush(self, keys: list[str], values: list[str]) -> None:
        self._call(lambda: self._script(keys=keys, args=values))

    def get(self, group: str, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        import orjson

        keys = [self._key(group, i) for i in ids]
        raw = self._call(lambda: self.client.mget(keys))
        return {i: orjson.loads(v[21:]) for i, v in zip(ids, raw, strict=True) if v is not None}

    def delete_group(self, group: str) -> None:
        def run() -> None:
            batch: list[bytes] = []
            for key in self.client.scan_iter(match=f"mloop:fg:{group}:*", count=1000):
                batch.append(key)
                if len(batch) >= 1000:
                    self.client.delete(*batch)
                    batch = []
            if batch:
                self.client.delete(*batch)

        self._call(run)

    def close(self) -> None:
        self.client.close()


def _refused(exc: BaseException, c: Mapping[str, Any]) -> MloopError:
    return StoreAccessDenied(f"the Redis online store {c['url']} refused mloop's credentials: {exc}",
                             hint="Put the right user and password in online_store_url "
                             "(redis://user:password@host:6379/0) or grant the ACL user GET, SET, EVALSHA, SCAN, DEL.")


def _unreachable(exc: BaseException, c: Mapping[str, Any]) -> MloopError:
    return StoreUnavailable(f"cannot reach the Redis online store {c['url']}: {exc}",
                            hint="Start Redis or fix online_store_url (`mloop config show`).")


# AuthenticationError is a ConnectionError in redis-py: the refusal rule comes first.
REDIS_ERRORS = ExceptionTable("redis", [
    (("redis.exceptions:AuthenticationError", "redis.exceptions:AuthenticationWrongNumberOfArgsError",
      "redis.exceptions:NoPermissionError"), _refused),
    (("redis.exceptions:ConnectionError", "redis.exceptions:TimeoutError"), _unreachable),
])
