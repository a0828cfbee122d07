"""Chapter: seed 003's course pipeline as the course writes it (KFP SDK), run by mloop.

`examples/kfp/housing_pipeline.py` (Load → Preprocess → Feature Engineer → Train with MLflow →
Evaluate → dsl.If(r2 >= threshold) register, else alert) on generated housing rows, labelled
SYNTHETIC: the demo has no internet for the real California Housing CSV.
"""

from __future__ import annotations

from pathlib import Path

from mloop.demo import DemoContext

TITLE = "Kubeflow: the course's KFP pipeline (housing, SYNTHETIC rows) runs locally into the registry"
NEEDS: tuple[str, ...] = ()
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "kfp" / "housing_pipeline.py"
MODEL = "housing-kfp"
PARAMS = {"data_path": "housing-synthetic.csv", "n_estimators": 15, "max_depth": 8,
          "r2_threshold": 0.5, "model_name": MODEL}


def run(ctx: DemoContext) -> None:
    from mloop import registry
    from mloop.pipelines import run_pipeline
    from mloop.recipes.datasets.housing import SYNTHETIC_LABEL, housing

    if not EXAMPLE.is_file():  # an installed wheel has no examples/
        ctx.say(f"[yellow]skipped:[/] {EXAMPLE} is not here (run the demo from a source checkout)")
        return
    ws = ctx.workspace
    rows = housing(1500, seed=7)
    data_path = str(PARAMS["data_path"])
    rows.to_csv(ws.root / data_path, index=False)
    ctx.did(f"wrote {len(rows)} rows: {SYNTHETIC_LABEL}", data_path)
    record = run_pipeline(ws, f"{EXAMPLE}:pipeline", PARAMS)
    if record.status != "Succeeded":
        raise RuntimeError(f"the KFP housing pipeline ended {record.status}: {record.error}")
    steps = ", ".join(f"{s.name} {s.status}" for s in record.steps)
    ctx.did(f"ran the KFP pipeline as run {record.id}: {steps}", f"mloop runs show {record.id}")
    r2 = record.step("evaluate").metrics.get("r2", float("nan"))
    newest = registry.versions(ws, MODEL)[-1]
    ctx.did(f"R² {r2:.3f} ≥ {PARAMS['r2_threshold']}: the pipeline registered {MODEL} "
            f"v{newest.version} ({newest.status}) from inside its Register step",
            f"mloop models show {MODEL}")
    ctx.state["kfp"] = {"run_id": record.id, "r2": r2, "model": MODEL, "version": newest.version}
