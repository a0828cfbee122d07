"""What the inference app accepts and answers: one ad-click record, feedback, predictions.

Validation lives here so that every client (the page, the JSON API, the simulator in the demo)
gets the same clear 422 for an empty age, a negative age or an unknown device type.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

# The ad-click dataset's categories (seed 001: the Kaggle ad_click_dataset.csv).
CATEGORIES: dict[str, tuple[str, ...]] = {
    "gender": ("Female", "Male", "Non-Binary"),
    "device_type": ("Desktop", "Mobile", "Tablet"),
    "ad_position": ("Bottom", "Side", "Top"),
    "browsing_history": ("Education", "Entertainment", "News", "Shopping", "Social Media"),
    "time_of_day": ("Afternoon", "Evening", "Morning", "Night"),
}
FEATURES: tuple[str, ...] = ("age", *CATEGORIES)
MAX_AGE = 120


class AdClickRecord(BaseModel):
    """One user seeing one ad: the raw features the model takes (preprocessing ships in the model)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    age: int = Field(ge=0, le=MAX_AGE, description="Age in years.")
    gender: str = Field(description=f"One of {', '.join(CATEGORIES['gender'])}.")
    device_type: str = Field(description=f"One of {', '.join(CATEGORIES['device_type'])}.")
    ad_position: str = Field(description=f"One of {', '.join(CATEGORIES['ad_position'])}.")
    browsing_history: str = Field(description=f"One of {', '.join(CATEGORIES['browsing_history'])}.")
    time_of_day: str = Field(description=f"One of {', '.join(CATEGORIES['time_of_day'])}.")

    @field_validator("age", mode="before")
    @classmethod
    def _age_present(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ValueError("age is required (a whole number of years, 0-120)")
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    @field_validator(*CATEGORIES, mode="after")
    @classmethod
    def _known_category(cls, value: str, info: Any) -> str:
        choices = CATEGORIES[info.field_name]
        for choice in choices:  # be forgiving about case, strict about the value
            if value.lower() == choice.lower():
                return choice
        shown = value if len(value) <= 40 else f"{value[:40]}... ({len(value) - 40} more characters)"
        raise ValueError(f"unknown {info.field_name} '{shown}'; valid: {', '.join(choices)}")


class PredictBatch(BaseModel):
    """`{"records": [...]}`: many records in one call (one request id each)."""

    model_config = ConfigDict(extra="forbid")

    records: list[AdClickRecord] = Field(min_length=1)


class Feedback(BaseModel):
    """What the user did after seeing the ad that request `request_id` scored."""

    model_config = ConfigDict(extra="forbid")

    request_id: str = Field(min_length=1, max_length=64)
    clicked: bool


class Prediction(BaseModel):
    """One scored record, with who answered it; `request_id` is what feedback refers to."""

    request_id: str
    probability: float
    model: str | None
    model_version: int | None
    variant: str | None
    latency_ms: float
    logged: bool


class PredictResponse(BaseModel):
    predictions: list[Prediction]


class FeedbackResponse(BaseModel):
    request_id: str
    clicked: bool
    logged: bool
    seconds_after_prediction: float | None
