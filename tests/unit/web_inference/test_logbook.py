"""Group commit: concurrent requests share one durable write; a failed write fails its batch."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from mloop.web.inference.logbook import GroupCommitWriter, LogUnavailable


def test_concurrent_puts_share_writes_and_each_waits_for_its_own() -> None:
    writes: list[list[dict[str, Any]]] = []
    gate = threading.Event()

    def write(rows: list[dict[str, Any]]) -> None:
        gate.wait(5)  # the first write is slow: the rest pile up behind it
        writes.append(rows)

    async def main() -> None:
        writer = GroupCommitWriter(write, name="t")
        writer.start()
        first = asyncio.create_task(writer.put([{"i": 0}]))
        await asyncio.sleep(0.05)
        rest = [asyncio.create_task(writer.put([{"i": i}])) for i in range(1, 50)]
        await asyncio.sleep(0.05)
        assert not first.done() and not any(t.done() for t in rest)  # nobody acknowledged early
        gate.set()
        await asyncio.gather(first, *rest)
        await writer.close()
        assert writer.rows == 50

    asyncio.run(main())
    assert len(writes) == 2 and len(writes[1]) == 49
    assert sorted(r["i"] for batch in writes for r in batch) == list(range(50))


def test_a_failed_write_fails_every_request_of_its_batch_and_the_next_batch_works() -> None:
    calls = {"n": 0}

    def write(rows: list[dict[str, Any]]) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("disk full")

    async def main() -> None:
        writer = GroupCommitWriter(write, name="ix")
        writer.start()
        with pytest.raises(LogUnavailable, match="could not log to the ix group: OSError: disk full"):
            await writer.put([{"a": 1}])
        await writer.put([{"a": 2}])
        await writer.close()
        assert writer.rows == 1

    asyncio.run(main())


def test_put_after_close_is_refused() -> None:
    async def main() -> None:
        writer = GroupCommitWriter(lambda rows: None, name="ix")
        writer.start()
        await writer.close()
        with pytest.raises(LogUnavailable):
            await writer.put([{"a": 1}])

    asyncio.run(main())
