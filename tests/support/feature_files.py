"""Feature-store test inputs: a small group spec and CSV text with every feature type."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def events_spec(name: str = "ev", id_type: str = "int") -> Any:
    from mloop.features import Feature, FeatureGroupSpec

    return FeatureGroupSpec(name=name, record_identifier="uid", event_time="ts", features=[
        Feature(name="uid", type=id_type), Feature(name="ts", type="timestamp"),
        Feature(name="x", type="float"), Feature(name="n", type="int", min=0, max=1000),
        Feature(name="color", type="string", allowed=["red", "green", "blue"]),
        Feature(name="ok", type="bool"),
    ])


HEADER = "uid,ts,x,n,color,ok\n"
GOOD_ROWS = HEADER + "1,2024-01-01T00:00:00Z,1.5,3,red,true\n2,2024-01-02 10:00:00,2.5,4,blue,no\n"


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path
