"""Synthetic ad-click (CTR) data shaped like the seed's `ad_click_dataset.csv`.

Columns: id, full_name, age, gender, device_type, ad_position, browsing_history, time_of_day,
click, plus event_time (spread over 30 days). Values are missing at rates like the original
(about half of age, gender and browsing_history; a fifth of the others). The click label
follows a logistic model of the features with noise, so a decent model reaches AUC ~0.7-0.8.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mloop.features import Feature, FeatureGroupSpec

if TYPE_CHECKING:
    import pandas as pd

GENDERS = ("Male", "Female", "Non-Binary")
DEVICES = ("Mobile", "Desktop", "Tablet")
POSITIONS = ("Top", "Side", "Bottom")
HISTORIES = ("Shopping", "News", "Entertainment", "Education", "Social Media")
TIMES = ("Morning", "Afternoon", "Evening", "Night")
MISSING = {"age": 0.47, "gender": 0.47, "device_type": 0.2, "ad_position": 0.2,
           "browsing_history": 0.48, "time_of_day": 0.2}
EFFECTS = {
    "gender": {"Male": 0.0, "Female": 0.25, "Non-Binary": -0.2},
    "device_type": {"Mobile": 0.6, "Desktop": -0.2, "Tablet": -0.6},
    "ad_position": {"Top": 1.1, "Side": -0.3, "Bottom": -1.0},
    "browsing_history": {"Shopping": 1.0, "News": -0.5, "Entertainment": 0.3,
                         "Education": -0.9, "Social Media": 0.5},
    "time_of_day": {"Morning": -0.6, "Afternoon": 0.0, "Evening": 0.7, "Night": 0.3},
}
START = datetime(2024, 1, 1, tzinfo=UTC)


def ad_clicks(n: int = 10_000, seed: int = 0) -> pd.DataFrame:
    """`n` ad impressions with a click label; the same (n, seed) always gives the same rows."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    ids = np.arange(1, n + 1) + 1000 * (seed % 1000)
    cats = {"gender": (GENDERS, (0.45, 0.45, 0.10)), "device_type": (DEVICES, (0.5, 0.3, 0.2)),
            "ad_position": (POSITIONS, (0.35, 0.35, 0.30)),
            "browsing_history": (HISTORIES, (0.25, 0.2, 0.25, 0.15, 0.15)),
            "time_of_day": (TIMES, (0.25, 0.3, 0.3, 0.15))}
    cols: dict[str, np.ndarray] = {}
    for name, (values, probs) in cats.items():
        cols[name] = rng.choice(np.array(values, dtype=object), size=n, p=probs)
    age = rng.integers(18, 65, size=n).astype(float)
    logit = 0.3 - 0.04 * (age - 40) + rng.normal(0, 0.9, size=n)
    for name, effect in EFFECTS.items():
        logit += np.vectorize(effect.get)(cols[name]).astype(float)
    click = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    for name, rate in MISSING.items():
        hole = rng.random(n) < rate
        if name == "age":
            age[hole] = np.nan
        else:
            cols[name][hole] = None
    seconds = np.sort(rng.integers(0, 30 * 24 * 3600, size=n))
    event_time = pd.to_datetime(START) + pd.to_timedelta(seconds, unit="s")
    frame = pd.DataFrame({
        "id": ids, "full_name": [f"User{i}" for i in ids],
        "age": pd.array(age, dtype="Float64").round(0).astype("Int64"),
        **{k: pd.array(v, dtype="string") for k, v in cols.items()},
        "click": click, "event_time": event_time,
    })
    return frame[["id", "full_name", "age", "gender", "device_type", "ad_position",
                  "browsing_history", "time_of_day", "click", "event_time"]]


def ad_clicks_spec(name: str = "ad-clicks") -> Any:
    """The feature group spec for `ad_clicks` rows, with the original's allowed values."""
    def cat(column: str, values: tuple[str, ...]) -> Feature:
        return Feature(name=column, type="string", allowed=list(values))

    return FeatureGroupSpec(
        name=name, record_identifier="id", event_time="event_time",
        description="Ad impressions and whether they were clicked (synthetic, seed-shaped).",
        features=[
            Feature(name="id", type="int", nullable=False),
            Feature(name="full_name", type="string"),
            Feature(name="age", type="int", min=0, max=120),
            cat("gender", GENDERS), cat("device_type", DEVICES), cat("ad_position", POSITIONS),
            cat("browsing_history", HISTORIES), cat("time_of_day", TIMES),
            Feature(name="click", type="int", nullable=False, allowed=[0, 1]),
            Feature(name="event_time", type="timestamp"),
        ],
    )


def write_broken_csv(frame: pd.DataFrame, path: Any) -> list[str]:
    """Write `frame` as CSV plus a few deliberately broken rows; returns what each one breaks."""
    frame.to_csv(path, index=False)
    broken = [
        ("age is not a number", "900001,User900001,forty,Male,Mobile,Top,News,Morning,1,2024-01-05T10:00:00Z"),
        ("gender outside the allowed values",
         "900002,User900002,33,Robot,Mobile,Top,News,Morning,0,2024-01-05T10:00:00Z"),
        ("a column is missing", "900003,User900003,33,Male,Mobile,Top,News,Morning,1"),
        ("click is not 0/1", "900004,User900004,33,Female,Tablet,Side,News,Night,7,2024-01-05T10:00:00Z"),
        ("age above max", "900005,User900005,430,Female,Tablet,Side,News,Night,1,2024-01-05T10:00:00Z"),
    ]
    with open(path, "a", encoding="utf-8") as fh:
        for _, line in broken:
            fh.write(line + "\n")
    return [what for what, _ in broken]
