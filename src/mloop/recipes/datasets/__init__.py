"""Data generators for demos, tests and benchmarks (synthetic rows, labelled as such)."""

from mloop.recipes.datasets.ad_clicks import ad_clicks
from mloop.recipes.datasets.housing import SYNTHETIC_LABEL as HOUSING_SYNTHETIC_LABEL
from mloop.recipes.datasets.housing import housing

__all__ = ["HOUSING_SYNTHETIC_LABEL", "ad_clicks", "housing"]
