"""AUC of `ad-click-ctr` on a generated file shaped like the seed's ad_click_dataset.csv, next to
a plain XGBoost baseline trained and tested on exactly the same rows, in the same run.

    python bench/seed_file.py [--seeds 3] [--out bench/results/seed_file.json]

For each split (random, group) and data seed: ingest the file as seed 001 does (`--id id`, no
group before), run `ad-click-ctr` with its defaults, then fit `xgboost.XGBClassifier` (same
n_estimators, max_depth, learning_rate; pandas categoricals, no identifier columns) on the
pipeline's own train split and score its test split.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any


def baseline_auc(train: Any, test: Any, features: list[str], seed: int) -> float:
    import pandas as pd
    import xgboost as xgb
    from sklearn.metrics import roc_auc_score

    def encode(frame: Any) -> Any:
        out = frame[features].copy()
        for col in features:
            if not pd.api.types.is_numeric_dtype(out[col]):
                out[col] = pd.Categorical(out[col], categories=sorted(train[col].dropna().unique()))
        return out

    model = xgb.XGBClassifier(n_estimators=100, max_depth=6, learning_rate=0.1, enable_categorical=True,
                              tree_method="hist", random_state=seed, n_jobs=1)
    model.fit(encode(train), train["click"])
    return float(roc_auc_score(test["click"], model.predict_proba(encode(test))[:, 1]))


def one(seed: int, split: str) -> dict[str, Any]:
    from mloop.config import init_workspace
    from mloop.features import ingest
    from mloop.pipelines import load_artifact, run_pipeline
    from mloop.recipes.datasets.seed_file import write_seed_shaped_csv
    from mloop.store import open_workspace

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        init_workspace(root)
        ws = open_workspace(root)
        try:
            csv = write_seed_shaped_csv(root / "ad_click_dataset.csv", seed=seed)
            ingest(ws, csv, "ad-clicks", id_column="id")
            record = run_pipeline(ws, "ad-click-ctr", {"split": split}, tracking=False)
            assert record.status == "Succeeded", record.error
            model = load_artifact(ws, record.id, "train", "model")
            train = load_artifact(ws, record.id, "preprocess", "train")
            test = load_artifact(ws, record.id, "preprocess", "test")
            return {"seed": seed, "split": split, "auc": record.step("evaluate").metrics["auc"],
                    "baseline_auc": baseline_auc(train, test, model.feature_names, seed),
                    "train_rows": len(train), "test_rows": len(test), "features": model.feature_names,
                    "left_out": model.metadata["features_left_out"]}
        finally:
            ws.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    results = [one(seed, split) for split in ("random", "group") for seed in range(args.seeds)]
    for r in results:
        print(f"split={r['split']:<6} seed={r['seed']}  mloop auc {r['auc']:.4f}  xgboost baseline "
              f"{r['baseline_auc']:.4f}  ({r['train_rows']} train / {r['test_rows']} test rows, "
              f"{len(r['features'])} features)", file=sys.stderr)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
