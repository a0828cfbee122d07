"""SYNTHETIC rows with the California Housing schema (the real dataset cannot be downloaded here).

Columns match scikit-learn's `fetch_california_housing(as_frame=True)`: MedInc, HouseAge,
AveRooms, AveBedrms, Population, AveOccup, Latitude, Longitude, MedHouseVal (in $100,000s,
capped at 5.00001 like the census data). The rows are invented: block groups cluster around
California's cities along the coast, incomes are log-normal, and the value depends on income,
distance to the coast, proximity to the Bay Area / Los Angeles, occupancy and age, with
multiplicative noise, so a RandomForest reaches R² ≈ 0.8. Every frame carries
`attrs["synthetic"] = True` and `attrs["dataset"] = SYNTHETIC_LABEL`; a user's real CSV with the
same columns works unchanged in the `housing` pipeline.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

SYNTHETIC_LABEL = "SYNTHETIC california-housing-schema (mloop generator, not census data)"
TARGET = "MedHouseVal"
FEATURES = ["MedInc", "HouseAge", "AveRooms", "AveBedrms", "Population", "AveOccup", "Latitude", "Longitude"]
COLUMNS = [*FEATURES, TARGET]
SF = (37.77, -122.42)
LA = (34.05, -118.25)
# (lat, lon, share of block groups, spread in degrees, income lift)
_CITIES = [
    (34.05, -118.25, 0.30, 0.45, 0.0),   # Los Angeles
    (37.70, -122.20, 0.18, 0.35, 0.35),  # San Francisco Bay Area
    (32.80, -117.10, 0.09, 0.25, 0.1),   # San Diego
    (38.58, -121.45, 0.07, 0.30, -0.1),  # Sacramento
    (36.75, -119.75, 0.05, 0.35, -0.25),  # Fresno
    (33.90, -117.40, 0.08, 0.40, -0.1),  # Inland Empire
]
_COAST = [(42.0, -124.2), (40.4, -124.4), (38.3, -123.0), (37.8, -122.5), (36.6, -121.9),
          (35.4, -120.9), (34.5, -120.5), (34.0, -118.5), (33.6, -117.9), (32.6, -117.1)]


def housing(n: int = 20_000, seed: int = 0) -> pd.DataFrame:
    """`n` SYNTHETIC block groups with the California Housing columns.

    Args:
        n: number of rows.
        seed: random seed (same seed, same rows).

    Returns:
        A DataFrame with COLUMNS, `attrs["synthetic"] = True`.
    """
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    lat, lon, lift = _locations(rng, n)
    coast_km = distance_to_coast_km(lat, lon)
    income = np.exp(rng.normal(1.28 + lift - 0.002 * np.minimum(coast_km, 200), 0.45))
    income = np.clip(income, 0.5, 15.0001)
    age = np.clip(rng.normal(29 + 8 * (lift > 0), 12, n).round(), 1, 52)
    rooms = np.clip(rng.normal(4.2 + 0.35 * income, 0.9), 1.5, 12)
    bedrooms = np.clip(rooms * rng.normal(0.21, 0.03, n), 0.6, 4)
    occupancy = np.clip(np.exp(rng.normal(1.05 - 0.03 * income, 0.25)), 1.0, 8)
    population = np.clip(np.exp(rng.normal(7.0, 0.7, n)), 20, 20_000).round()
    value = (0.30 + 0.40 * income
             + 1.30 * np.exp(-coast_km / 30)
             + 0.90 * np.exp(-haversine_km(lat, lon, *SF) / 60)
             + 0.45 * np.exp(-haversine_km(lat, lon, *LA) / 45)
             + 0.006 * age
             - 0.25 * np.clip(occupancy - 3.0, 0, None))
    value = np.clip(value * np.exp(rng.normal(0, 0.21, n)), 0.15, 5.00001)
    frame = pd.DataFrame({
        "MedInc": income.round(4), "HouseAge": age, "AveRooms": rooms, "AveBedrms": bedrooms,
        "Population": population, "AveOccup": occupancy, "Latitude": lat.round(2),
        "Longitude": lon.round(2), "MedHouseVal": value.round(5),
    })
    mark_synthetic(frame)
    return frame


def mark_synthetic(frame: pd.DataFrame) -> pd.DataFrame:
    """Label a frame as synthetic (travels into model metadata, tags and demo output)."""
    frame.attrs["synthetic"] = True
    frame.attrs["dataset"] = SYNTHETIC_LABEL
    return frame


def haversine_km(lat: np.ndarray, lon: np.ndarray, lat0: float, lon0: float) -> np.ndarray:
    """Great-circle distance in km from every (lat, lon) to one point."""
    import numpy as np

    p1, p2 = np.radians(lat), np.radians(lat0)
    dlat, dlon = p2 - p1, np.radians(lon0 - np.asarray(lon))
    a = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def distance_to_coast_km(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Approximate distance to a coarse polyline of the California coast (km)."""
    import numpy as np

    km_lat, km_lon = 111.0, 111.0 * np.cos(np.radians(37.0))
    py, px = np.asarray(lat) * km_lat, np.asarray(lon) * km_lon
    best = np.full(py.shape, np.inf)
    for (a_lat, a_lon), (b_lat, b_lon) in itertools.pairwise(_COAST):
        ay, ax, by, bx = a_lat * km_lat, a_lon * km_lon, b_lat * km_lat, b_lon * km_lon
        dy, dx = by - ay, bx - ax
        t = np.clip(((py - ay) * dy + (px - ax) * dx) / (dy * dy + dx * dx), 0, 1)
        best = np.minimum(best, np.hypot(py - (ay + t * dy), px - (ax + t * dx)))
    return best


def _locations(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import numpy as np

    shares = [c[2] for c in _CITIES]
    rural = 1.0 - sum(shares)
    pick = rng.choice(len(_CITIES) + 1, size=n, p=[*shares, rural])
    lat, lon, lift = np.empty(n), np.empty(n), np.zeros(n)
    for index, (c_lat, c_lon, _, spread, income_lift) in enumerate(_CITIES):
        mask = pick == index
        lat[mask] = rng.normal(c_lat, spread, mask.sum())
        lon[mask] = rng.normal(c_lon, spread * 1.2, mask.sum())
        lift[mask] = income_lift
    mask = pick == len(_CITIES)
    lon[mask] = rng.uniform(-124.3, -114.3, mask.sum())
    # California runs diagonally: north-west to south-east.
    lat[mask] = 41.5 - 0.9 * (lon[mask] + 124.3) + rng.normal(0, 1.0, mask.sum())
    lift[mask] = -0.3
    return np.clip(lat, 32.54, 41.95), np.clip(lon, -124.35, -114.31), lift
