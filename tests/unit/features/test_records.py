"""put_records: validation, durability, flushing, concurrency and kill -9 safety."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from mloop.errors import InvalidInput
from mloop.features import data_version, extract, flush_records, get_online, put_records
from tests.support.cli import clean_env

ROOT = Path(__file__).resolve().parents[3]


def test_put_records_online_then_offline_on_flush(ev: Any) -> None:
    put_records(ev, "ev", [{"uid": 1, "x": 1.0, "color": "red", "ts": "2024-01-02T00:00:00Z"}])
    put_records(ev, "ev", [{"uid": 1, "x": 0.5, "ts": "2024-01-01T00:00:00Z"}])  # older: not online
    put_records(ev, "ev", [{"uid": 2, "x": 2.0, "n": 5, "ok": True}])  # no time: now
    assert get_online(ev, "ev", [1], ["x", "color"]) == {1: {"x": 1.0, "color": "red"}}
    assert data_version(ev, "ev") == 0
    assert flush_records(ev, "ev") == 3
    assert data_version(ev, "ev") == 1
    hist = extract(ev, "ev", history=True)
    assert len(hist) == 3 and extract(ev, "ev").set_index("uid")["x"].to_dict() == {1: 1.0, 2: 2.0}
    assert flush_records(ev, "ev") == 0 and data_version(ev, "ev") == 1


def test_extract_sees_acknowledged_records(ev: Any) -> None:
    put_records(ev, "ev", [{"uid": 7, "x": 7.0}])
    assert extract(ev, "ev")["uid"].tolist() == [7]


@pytest.mark.parametrize(("record", "match"), [
    ({"uid": 1, "colour": "red"}, "unknown field 'colour'"),
    ({"x": 1.0}, "lacks 'uid'"),
    ({"uid": 1, "x": "abc"}, "not a valid float"),
    ({"uid": 1, "color": "pink"}, "not in allowed"),
    ({"uid": 1, "n": 5000}, "outside"),
    ({"uid": 1, "x": float("inf")}, "not a finite number"),
    ({"uid": 1, "x": "-inf"}, "not a finite number"),
])
def test_bad_records_are_refused_whole(ev: Any, record: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        put_records(ev, "ev", [{"uid": 9, "x": 1.0}, record])
    assert get_online(ev, "ev", [9]) == {}  # nothing of the batch was written


def test_records_are_normalized_and_strings_bounded_like_ingest(workspace: Any) -> None:
    from mloop.features import Feature, FeatureGroupSpec, create_group

    create_group(workspace, FeatureGroupSpec(name="notes", record_identifier="uid", features=[
        Feature(name="uid", type="int"), Feature(name="text", type="string", max_length=8),
        Feature(name="score", type="float"), Feature(name="flag", type="bool", nullable=False)]))
    put_records(workspace, "notes", [{"uid": 1, "text": "abc", "score": 2, "flag": True},
                                     {"uid": 2, "text": "é" * 4, "score": float("nan"), "flag": "yes"}])
    got = get_online(workspace, "notes", [1, 2], ["text", "score", "flag"])
    assert got == {1: {"text": "abc", "score": 2.0, "flag": True}, 2: {"text": "éééé", "score": None, "flag": True}}
    with pytest.raises(InvalidInput, match="10 bytes, longer than max_length 8"):
        put_records(workspace, "notes", [{"uid": 3, "text": "é" * 5, "flag": False}])
    with pytest.raises(InvalidInput, match="lacks 'flag'"):
        put_records(workspace, "notes", [{"uid": 4}])


WRITER = textwrap.dedent("""
    import sys
    from mloop.features import put_records
    from mloop.store import open_workspace
    ws = open_workspace(sys.argv[1])
    start, count, batch = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    ws.settings.features.flush_rows = int(sys.argv[5])
    for i in range(start, start + count, batch):
        put_records(ws, sys.argv[6], [{"uid": j, "x": float(j)} for j in range(i, i + batch)])
        print(i + batch - 1, flush=True)   # acknowledged up to here
""")


def _writer(ws: Any, start: int, count: int, batch: int = 1, flush_rows: int = 50_000,
            group: str = "ev") -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(ws.root), str(start), str(count), str(batch), str(flush_rows), group],
        stdout=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})


@pytest.fixture(params=["ev", "offline"])
def group(request: pytest.FixtureRequest, ev: Any) -> str:
    """'ev' spools in the SQLite online store; an offline-only group in per-process files."""
    from mloop.features import create_group
    from tests.support.feature_files import events_spec

    if request.param == "offline":
        spec = events_spec("offline")
        spec.online = False
        create_group(ev, spec)
    return str(request.param)


@pytest.mark.slow
def test_concurrent_writers_lose_nothing(ev: Any, group: str) -> None:
    procs = [_writer(ev, w * 10_000, 150, batch=3, flush_rows=100, group=group) for w in range(4)]
    for p in procs:
        assert p.wait(timeout=60) == 0
    flush_records(ev, group)
    hist = extract(ev, group, history=True)
    assert sorted(hist["uid"]) == sorted(w * 10_000 + i for w in range(4) for i in range(150))


@pytest.mark.slow
@pytest.mark.parametrize("flush_rows", [50_000, 40], ids=["kill-while-writing", "kill-while-flushing"])
def test_kill_9_after_ack_loses_nothing(ev: Any, group: str, flush_rows: int) -> None:
    proc = _writer(ev, 0, 100_000, batch=5, flush_rows=flush_rows, group=group)
    assert proc.stdout is not None
    acked = -1
    while acked < 600:
        acked = int(proc.stdout.readline())
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    for line in proc.stdout.read().split():  # acknowledged before the kill landed
        acked = max(acked, int(line))
    spool = ev.state_dir / "spool" / group / f"{socket.gethostname()}-{proc.pid}.db"
    assert spool.exists() == (group == "offline")  # the dead writer's own spool file, if any
    flush_records(ev, group)
    uids = extract(ev, group, history=True)["uid"].tolist()
    assert len(uids) == len(set(uids)), "a record was flushed twice"
    assert set(range(acked + 1)) <= set(uids)
    if group == "ev":  # spooled in the same commit as the online update
        assert get_online(ev, group, [acked], ["x"]) == {acked: {"x": float(acked)}}
    assert not spool.exists()  # flushed and its writer gone: removed


def test_online_store_down_does_not_fail_acknowledged_records(workspace: Any) -> None:
    from mloop.features import create_group
    from mloop.store import open_workspace
    from tests.support.feature_files import events_spec
    from tests.support.servers import free_port

    ws = open_workspace(workspace.root, online_store_url=f"redis://127.0.0.1:{free_port()}/0")
    create_group(ws, events_spec("down"))
    put_records(ws, "down", [{"uid": 1, "x": 1.0}])  # durable in the spool; online deferred
    assert extract(ws, "down")["uid"].tolist() == [1]


@pytest.mark.slow
def test_features_show_counts_spooled_records_of_a_killed_writer(ev: Any, tmp_path: Path) -> None:
    """Acknowledged records not yet flushed are reported as spooled, never as 0 rows."""
    from mloop.features.records import spooled_count

    proc = _writer(ev, 0, 100_000, batch=5)
    assert proc.stdout is not None
    acked = -1
    while acked < 99:
        acked = int(proc.stdout.readline())
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    for line in proc.stdout.read().split():
        acked = max(acked, int(line))
    assert spooled_count(ev, "ev") == acked + 1 and data_version(ev, "ev") == 0
    env = clean_env()
    shown = subprocess.run([sys.executable, "-m", "mloop", "features", "show", "ev", "--json"],
                           cwd=ev.root, env=env, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    import json

    assert json.loads(shown.stdout)["spooled_records"] == acked + 1
    flush_records(ev, "ev")
    assert spooled_count(ev, "ev") == 0


def test_a_failing_background_flush_is_logged_and_shown_until_it_succeeds(ev: Any, caplog: Any) -> None:
    import time

    from mloop.features.records import flush_failures

    ev.settings.features.flush_rows = 1  # every record is due at once: the background flusher runs
    staging = ev.artifacts.staging_file("probe-", ".tmp")
    staging.unlink()
    folder = staging.parent
    folder.rmdir()
    folder.write_text("not a folder")  # the flush cannot stage its Parquet file (even as root)

    def wait_for(condition: Any) -> None:
        deadline = time.monotonic() + 30
        while not condition():
            assert time.monotonic() < deadline, flush_failures()
            time.sleep(0.05)

    put_records(ev, "ev", [{"uid": 1, "x": 1.0}])  # acknowledged: durable in the spool
    wait_for(lambda: "ev" in flush_failures())
    failure = flush_failures()["ev"]
    assert failure["failures"] >= 1 and failure["last_error"]
    assert any("flushing spooled records of ev failed" in r.getMessage() for r in caplog.records)
    folder.unlink()  # the store is fixed: the next background flush succeeds and clears the failure
    put_records(ev, "ev", [{"uid": 2, "x": 2.0}])
    wait_for(lambda: "ev" not in flush_failures() and data_version(ev, "ev") >= 1)
    assert sorted(extract(ev, "ev")["uid"]) == [1, 2]
