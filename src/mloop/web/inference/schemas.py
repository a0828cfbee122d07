"""What the inference app accepts and answers: one ad-click record, feedback, predictions.

Validation lives here so that every client (the page, the JSON API, the simulator in the demo)
gets the same clear 422 for a negative age, a field that is not a feature or a category that
is not text. Any field may be empty, null or absent: the model was trained on records with
missing values (92% of the seed's rows miss one). Categories are matched to the known ones
regardless of case; one the model never saw goes to the endpoint, whose input policy (warn:
score and report, reject: 400) decides, exactly as for every other client of the endpoint.
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


def _blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _category(field: str) -> Any:
    """A categorical field: the known values are an enum in the schema (clients and fuzzers see
    them); other text is accepted too and left to the endpoint's input policy."""
    choices: list[Any] = list(CATEGORIES[field])
    return Field(None, description=f"One of {', '.join(choices)} (any case); empty when unknown.",
                 json_schema_extra={"anyOf": [{"enum": choices}, {"type": "string"}, {"type": "null"}]})


class AdClickRecord(BaseModel):
    """One user seeing one ad: the raw features the model takes (preprocessing ships in the model).

    Every field may be missing (empty, null or absent)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    age: int | None = Field(None, ge=0, le=MAX_AGE, description="Age in years; empty when unknown.")
    gender: str | None = _category("gender")
    device_type: str | None = _category("device_type")
    ad_position: str | None = _category("ad_position")
    browsing_history: str | None = _category("browsing_history")
    time_of_day: str | None = _category("time_of_day")

    @field_validator("age", mode="before")
    @classmethod
    def _age(cls, value: Any) -> Any:
        value = _blank_to_none(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)  # ages written as 22.0
        return value

    @field_validator(*CATEGORIES, mode="before")
    @classmethod
    def _category(cls, value: Any, info: Any) -> Any:
        value = _blank_to_none(value)
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError(f"{info.field_name} must be text (one of {', '.join(CATEGORIES[info.field_name])})")
        text = value.strip()
        for choice in CATEGORIES[info.field_name]:  # forgiving about case
            if text.lower() == choice.lower():
                return choice
        return text  # the endpoint's input policy reports or refuses a category it never saw


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
    input_issues: list[str] = Field(default_factory=list, description=(
        "What the model never saw in this record (`feature:issue`, e.g. `gender:unknown_category`), "
        "as the endpoint reported it under its `warn` input policy; also logged with the interaction."))


class PredictResponse(BaseModel):
    predictions: list[Prediction]


class FeedbackResponse(BaseModel):
    request_id: str
    clicked: bool
    logged: bool
    seconds_after_prediction: float | None
