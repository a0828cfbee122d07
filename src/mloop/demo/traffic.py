"""Simulated users for the app and monitoring chapters: ad impressions, clicks, shifted traffic."""

from __future__ import annotations

import asyncio
from typing import Any

from mloop.recipes.datasets import ad_clicks
from mloop.web.inference.schemas import CATEGORIES

FIELDS = ["age", *CATEGORIES]


def users(n: int, seed: int, *, shifted: bool = False) -> list[dict[str, Any]]:
    """`n` complete ad-click records drawn like the training data (or deliberately shifted:
    older users, almost all on tablets, ads at the bottom)."""
    import numpy as np

    pool = ad_clicks(max(n, 200), seed=seed)
    rng = np.random.default_rng(seed)
    # Complete records (the app takes empty fields too): fill a missing value with a draw from the column's values.
    present = {field: pool[field].dropna().to_numpy() for field in FIELDS}
    out = []
    for row in pool.head(n)[FIELDS].to_dict("records"):
        record: dict[str, Any] = {}
        for field in FIELDS:
            value = row[field]
            if value is None or value != value:
                value = rng.choice(present[field])
            record[field] = int(value) if field == "age" else str(value)
        if shifted:
            record["age"] = int(min(record["age"] + 25, 95))
            record["device_type"] = "Tablet" if rng.random() < 0.9 else record["device_type"]
            record["ad_position"] = "Bottom" if rng.random() < 0.8 else record["ad_position"]
        out.append(record)
    return out


async def _send(url: str, records: list[dict[str, Any]], seed: int, answer_rate: float,
                concurrency: int) -> dict[str, Any]:
    import random

    import httpx

    rng = random.Random(seed)
    queue = list(enumerate(records))
    stats: dict[str, Any] = {"predictions": 0, "feedback": 0, "clicks": 0, "errors": 0, "versions": {}}
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        async def worker() -> None:
            while queue:
                _, record = queue.pop()
                res = await client.post("/api/predict", json=record)
                if res.status_code != 200:
                    stats["errors"] += 1
                    continue
                body = res.json()
                stats["predictions"] += 1
                key = f"v{body['model_version']} ({body['variant']})"
                stats["versions"][key] = stats["versions"].get(key, 0) + 1
                if rng.random() < answer_rate:  # some users never tell us
                    clicked = rng.random() < body["probability"]
                    fb = await client.post("/api/feedback", json={"request_id": body["request_id"],
                                                                  "clicked": clicked})
                    if fb.status_code == 200:
                        stats["feedback"] += 1
                        stats["clicks"] += int(clicked)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return stats


def send_users(url: str, records: list[dict[str, Any]], *, seed: int = 0, answer_rate: float = 0.8,
               concurrency: int = 8) -> dict[str, Any]:
    """POST each record to the app; most users then click or not, as the model predicted."""
    return asyncio.run(_send(url, records, seed, answer_rate, concurrency))
