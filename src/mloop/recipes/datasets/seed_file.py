"""Generated rows with the properties of the seed's real `ad_click_dataset.csv` (not its data).

`ad_clicks()` is a tidy look-alike: one row per id, an event time, whole numbers. The file that
seed 001 ingests is not tidy, and these rows reproduce what makes it hard:

- 10,000 rows of 4,000 ids: 3,500 ids appear once, 500 repeat 3 to ~40 times (6,500 rows);
- the label is tied to repetition: a repeated person clicked (~98%), a one-off rarely (~4%),
  so ~65% of all rows clicked but only ~16% of the newest record per id;
- no event-time column, rows in no particular order;
- `age` written as a float (`22.0`), and 20-48% of every feature column empty (~8% of rows
  complete);
- `full_name`, a person's name, one per id (personal data and an identifier in disguise).

A person keeps their age and gender across records, and mostly their habits and their empty
fields, so a random split lets a model recognise people it saw in training (XGBoost: AUC ~0.7,
as on the real file); a split grouped by id cannot (~0.5).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mloop.recipes.datasets.ad_clicks import DEVICES, GENDERS, HISTORIES, MISSING, POSITIONS, TIMES

if TYPE_CHECKING:
    import pandas as pd


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


COLUMNS = ["id", "full_name", "age", "gender", "device_type", "ad_position", "browsing_history",
           "time_of_day", "click"]
FIRST = _words("Ava Ben Cara Dan Eli Fay Gus Hana Ian Jade Kai Lena Milo Nina Omar Pia Quinn Rosa Sam Tara "
         "Uma Vic Wade Xena Yuri Zoe Abel Bea Cole Dara Emil Flor Gia Hugo Iris Jon Kira Leo Maya Noah "
         "Olga Pedro Rhea Saul Tess Ugo Vera Will Yara Zack Anya Boris Cleo Dmitri Edna Finn Greta "
         "Hal Ines Joel Kate Luis Mona Ned Opal Paul")
LAST = _words("Smith Jones Brown Garcia Miller Davis Wilson Moore Taylor Thomas White Harris Martin Clark "
        "Lewis Lee Walker Hall Allen Young King Wright Scott Green Baker Adams Nelson Hill Campbell "
        "Mitchell Roberts Carter Phillips Evans Turner Torres Parker Collins Edwards Stewart Morris "
        "Murphy Cook Rogers Morgan Cooper Peterson Reed Bailey Bell Kelly Howard Ward Cox Diaz Richardson "
        "Wood Watson Brooks Bennett Gray James Reyes Cruz Hughes Price Myers Long Foster")


def _counts(rng: object, ids: int, once: int, rows: int) -> list[int]:
    """Records per id: `once` ids appear once, the rest 3+ times, `rows` records in all."""
    import numpy as np

    assert isinstance(rng, np.random.Generator)
    repeat = ids - once
    extra = rows - once - 3 * repeat  # records beyond the minimum of 3 per repeating id
    weights = rng.gamma(2.0, size=repeat)  # most repeat 5-20 times, a few 30+
    spread = rng.multinomial(extra, weights / weights.sum())
    return [1] * once + (3 + spread).tolist()


def seed_shaped_ad_clicks(rows: int = 10_000, ids: int = 4_000, once: int = 3_500,
                          seed: int = 0, habit: float = 0.85) -> pd.DataFrame:
    """Rows shaped like the seed's ad-click file (see the module doc); the same args give the same rows.

    `habit` is the share of a person's records that show their usual device, ad position,
    browsing and time of day, and leave empty the fields that person usually leaves empty
    (the rest are random). Columns are the file's, typed as read back
    from its CSV: `age` float, text columns object
    with None for empty cells, `id` and `click` int.
    """
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    counts = np.array(_counts(rng, ids, once, rows))
    person_ids = rng.choice(np.arange(1, rows + 1), size=ids, replace=False)
    names = rng.choice(len(FIRST) * len(LAST), size=ids, replace=False)
    person = pd.DataFrame({
        "id": person_ids, "full_name": [f"{FIRST[n // len(LAST)]} {LAST[n % len(LAST)]}" for n in names],
        "age": rng.integers(18, 65, size=ids).astype(float),
        "gender": rng.choice(np.array(GENDERS, dtype=object), size=ids, p=(0.45, 0.45, 0.10)),
        "repeats": counts > 1,
    })
    habits = {"device_type": DEVICES, "ad_position": POSITIONS, "browsing_history": HISTORIES,
              "time_of_day": TIMES}
    for col, values in habits.items():
        person[col] = rng.choice(np.array(values, dtype=object), size=ids)
    frame = person.loc[np.repeat(np.arange(ids), counts)].reset_index(drop=True)
    n = len(frame)
    for col, values in habits.items():  # a person's habit holds for `habit` of their records
        other = rng.random(n) >= habit
        frame.loc[other, col] = rng.choice(np.array(values, dtype=object), size=int(other.sum()))
    clicked = np.where(frame["repeats"], 0.98, 0.04)
    frame["click"] = (rng.random(n) < clicked).astype(np.int64)
    owner = np.repeat(np.arange(ids), counts)
    for col, rate in MISSING.items():  # mostly a person's gap (the same field empty in their records)
        gap = np.where(rng.random(n) < habit, (rng.random(ids) < rate)[owner], rng.random(n) < rate)
        frame.loc[gap, col] = np.nan if col == "age" else None
    frame = frame.iloc[rng.permutation(n)].reset_index(drop=True)
    return frame[COLUMNS]


def write_seed_shaped_csv(path: str | Path, rows: int = 10_000, seed: int = 0) -> Path:
    """Write `seed_shaped_ad_clicks` as the seed's CSV: `22.0` ages, empty cells, no event time."""
    path = Path(path)
    frame = seed_shaped_ad_clicks(rows=rows, ids=rows * 2 // 5, once=rows * 7 // 20, seed=seed)
    frame.to_csv(path, index=False, float_format="%.1f")
    return path
