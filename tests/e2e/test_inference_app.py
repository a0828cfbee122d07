"""The inference app's page in headless Chromium: fill the form, see the probability, give feedback."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import screenshot
from tests.support.app_processes import live, logged  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_form_predicts_and_records_feedback(live: dict[str, Any], page: Any) -> None:  # noqa: F811
    page.goto(live["url"] + "/")
    page.fill("#age", "27")
    page.select_option("#gender", "Female")
    page.select_option("#device_type", "Mobile")
    page.select_option("#ad_position", "Top")
    page.select_option("#browsing_history", "Social Media")
    page.select_option("#time_of_day", "Evening")
    page.click("#predict")
    page.wait_for_selector("#result:not([hidden])")
    probability = page.text_content("[data-testid=probability]")
    assert probability and probability.strip().endswith("%")
    assert 0 <= float(probability.strip().rstrip("%").strip()) <= 100
    assert page.text_content("#version").strip() not in ("", "?")
    request_id = page.text_content("#request-id").strip()
    screenshot(page, "inference-app-prediction")
    page.click("#clicked")
    page.wait_for_selector("#feedback-status:has-text('Recorded')")  # CSP: no string eval in the page
    assert page.is_disabled("#not-clicked")
    screenshot(page, "inference-app-feedback")
    feedback = logged(live["ws"], "user-feedback")
    assert request_id in set(feedback["request_id"])


def test_form_predicts_with_empty_fields_and_explains_bad_input(live: dict[str, Any], page: Any) -> None:  # noqa: F811
    page.goto(live["url"] + "/")
    page.fill("#age", "")
    page.select_option("#gender", "")  # "(unknown)"
    page.click("#predict")
    page.wait_for_selector("#result:not([hidden])")
    assert page.text_content("[data-testid=probability]").strip().endswith("%")
    request_id = page.text_content("#request-id").strip()
    row = logged(live["ws"], "user-interactions").set_index("request_id").loc[request_id]
    import pandas as pd

    assert pd.isna(row["age"]) and pd.isna(row["gender"])  # logged as missing, not 0 or ""
    page.fill("#age", "-4")
    page.click("#predict")
    page.wait_for_selector("#error:has-text('age')")
    assert page.is_hidden("#result")
