"""The reference pipelines, by name. Strings only: listing pipelines imports nothing heavy.

- `ad-click-ctr`: extract(ad-clicks) -> validate -> preprocess -> train XGBoost -> evaluate ->
  If auc >= auc_threshold: register -> deploy (once Approved), Else: alert.
- `housing` (seed 003's course pipeline): load (sklearn, CSV or SYNTHETIC rows) -> validate ->
  preprocess -> feature engineering -> train RandomForest -> evaluate ->
  If r2 >= r2_threshold: register -> deploy (once Approved), Else: alert.
- `tabular`: any feature group or file + target column, classification or regression.
"""

BUILTIN: dict[str, str] = {
    "ad-click-ctr": "mloop.recipes.pipelines.ad_click:ad_click_ctr",
    "housing": "mloop.recipes.pipelines.housing:housing",
    "tabular": "mloop.recipes.pipelines.tabular:tabular",
}

__all__ = ["BUILTIN"]
