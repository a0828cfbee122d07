"""`data_source=sklearn`: California Housing through scikit-learn's own loader and cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mloop.recipes.datasets.california import DatasetUnavailable
from mloop.recipes.steps import read_source
from tests.support.servers import free_port


def _cache(folder: Path, rows: int = 40) -> np.ndarray:
    """scikit-learn's cache file as `fetch_california_housing` writes it after a download:
    [value, income, age, total rooms, total bedrooms, population, households, lat, lon]."""
    import joblib

    rng = np.random.default_rng(3)
    households = rng.integers(50, 500, rows).astype(float)
    raw = np.column_stack([
        rng.uniform(15_000, 500_001, rows), rng.uniform(0.5, 15, rows), rng.integers(1, 52, rows),
        households * rng.uniform(3, 7, rows), households * rng.uniform(0.8, 1.3, rows),
        households * rng.uniform(1.5, 4, rows), households, rng.uniform(32.5, 42, rows),
        rng.uniform(-124.3, -114.3, rows)])
    folder.mkdir(parents=True, exist_ok=True)
    joblib.dump(raw, folder / "cal_housing_py3.pkz", compress=6)
    return raw


def test_sklearn_source_reads_scikit_learns_cache_in_its_frame_layout(tmp_path: Path) -> None:
    raw = _cache(tmp_path / "skdata")
    frame = read_source(None, f"sklearn:{tmp_path / 'skdata'}")
    assert list(frame.columns) == ["MedInc", "HouseAge", "AveRooms", "AveBedrms", "Population",
                                   "AveOccup", "Latitude", "Longitude", "MedHouseVal"]
    assert len(frame) == 40 and not frame.attrs.get("synthetic")
    np.testing.assert_allclose(frame["AveRooms"], raw[:, 3] / raw[:, 6])
    np.testing.assert_allclose(frame["MedHouseVal"], raw[:, 0] / 100_000)


def test_sklearn_source_offline_says_how_to_pass_the_csv(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import sklearn.datasets._california_housing as cal

    # no internet, deterministically: the archive's address is a closed port on this machine
    monkeypatch.setattr(cal, "ARCHIVE", cal.ARCHIVE._replace(url=f"http://127.0.0.1:{free_port()}/x.tgz"))
    with pytest.raises(DatasetUnavailable) as err:
        read_source(None, f"sklearn:{tmp_path / 'empty'}")
    assert "cannot download California Housing" in err.value.message
    assert str(tmp_path / "empty") in err.value.message
    assert "data_source=housing.csv" in (err.value.hint or "")
