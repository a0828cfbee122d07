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


def _category(field: str) -> Any:
    """A categorical field: its values are an enum in the schema (clients and fuzzers see them)."""
    choices = list(CATEGORIES[field])
    return Field(description=f"One of {', '.join(choices)} (any case).", json_schema_extra={"enum": choices})


class AdClickRecord(BaseModel):
    """One user seeing one ad: the raw features the model takes (preprocessing ships in the model)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    age: int = Field(ge=0, le=MAX_AGE, description="Age in years.")
    gender: str = _category("gender")
    device_type: str = _category("device_type")
    ad_position: str = _category("ad_position")
    browsing_history: str = _category("browsing_history")
    time_of_day: str = _category("time_of_day")

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
        raise ValueError(f"unknown {info.field_name} '{value}'; valid: {', '.join(choices)}")


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
