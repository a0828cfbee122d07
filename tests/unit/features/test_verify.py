"""A damaged offline Parquet file: an integrity error naming the group, the ingestion and the
repair; `verify --repair` and a forced re-ingest of the source both rebuild it in place."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mloop.errors import IntegrityError
from mloop.features import build_training_set, extract, ingest
from mloop.features.verify import DAMAGED, OK, REPAIRED, UNREPAIRABLE, verify
from tests.support.feature_files import HEADER, write

ROWS_1 = HEADER + "1,2024-01-01,1.0,1,red,true\n2,2024-01-02,2.0,2,blue,false\n"
ROWS_2 = HEADER + "3,,3.0,3,green,true\n"  # no event time: filled with the ingestion's time


def flip_a_byte(ws: Any, digest: str) -> None:
    path = Path(ws.artifacts.fs_path(digest))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def damaged_store(ev: Any, tmp_path: Path) -> tuple[Any, Any, Any]:
    first = ingest(ev, write(tmp_path / "a.csv", ROWS_1), "ev")
    second = ingest(ev, write(tmp_path / "b.csv", ROWS_2), "ev")
    before = extract(ev, "ev")
    flip_a_byte(ev, second.digest)
    return first, second, before


def test_reading_a_damaged_file_names_group_ingestion_and_repair(ev: Any, tmp_path: Path) -> None:
    damaged_store(ev, tmp_path)
    with pytest.raises(IntegrityError) as info:
        extract(ev, "ev")
    err = info.value
    assert "feature group 'ev'" in err.message and str(tmp_path / "b.csv") in err.message
    assert "ingestion 2" in err.message
    assert "mloop features verify ev --repair" in (err.hint or "")
    assert f"mloop ingest {tmp_path / 'b.csv'} --group ev --force" in (err.hint or "")
    entities = __import__("pandas").DataFrame({"uid": [1], "ts": ["2024-02-01T00:00:00Z"]})
    with pytest.raises(IntegrityError, match="feature group 'ev'"):
        build_training_set(ev, entities, ["ev:x"])


def test_verify_repair_rebuilds_the_file_from_its_source(ev: Any, tmp_path: Path) -> None:
    _, _, before = damaged_store(ev, tmp_path)
    assert [c.status for c in verify(ev, "ev")] == [OK, DAMAGED]
    assert [c.status for c in verify(ev, "ev", repair=True)] == [OK, REPAIRED]
    assert [c.status for c in verify(ev, "ev")] == [OK, OK]
    after = extract(ev, "ev")
    assert after.equals(before)  # same rows, same event times (the missing one: the ingestion's time)


def test_a_forced_ingest_of_the_source_repairs_without_duplicating(ev: Any, tmp_path: Path) -> None:
    _, _, before = damaged_store(ev, tmp_path)
    report = ingest(ev, tmp_path / "b.csv", "ev", force=True)
    assert report.repaired == [2]
    assert extract(ev, "ev").equals(before)
    assert len(extract(ev, "ev", history=True)) == 3


def test_a_damaged_file_whose_source_is_gone_is_reported_unrepairable(ev: Any, tmp_path: Path) -> None:
    damaged_store(ev, tmp_path)
    (tmp_path / "b.csv").unlink()
    checks = verify(ev, "ev", repair=True)
    assert checks[1].status == UNREPAIRABLE and "is gone" in checks[1].detail


def test_cli_verify_exits_1_on_damage_and_0_after_repair(ev: Any, tmp_path: Path) -> None:
    damaged_store(ev, tmp_path)
    env = {"MLOOP_WORKSPACE": str(ev.root), "PATH": str(Path(sys.executable).parent)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "mloop", "features", "verify", *args], env=env,
                              capture_output=True, text=True, timeout=120)

    found = cli("ev")
    assert found.returncode == 1 and "1 damaged" in found.stdout and "--repair" in found.stdout
    fixed = cli("ev", "--repair")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert cli("ev").returncode == 0
