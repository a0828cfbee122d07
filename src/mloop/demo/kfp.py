"""Chapter: seed 003's course pipeline as the course writes it (KFP SDK), run by mloop.

`examples/kfp/housing_pipeline.py` (Load → Preprocess → Feature Engineer → Train with MLflow →
Evaluate → dsl.If(r2 >= threshold) register, else alert) on generated housing rows, labelled
SYNTHETIC: the demo has no internet for the real California Housing CSV. The version the
pipeline registered is approved, deployed to an endpoint and asked for predictions over HTTP
(`mloop serve`), from raw records: the features the pipeline engineered are computed inside.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mloop import registry, serving
from mloop.demo import DemoContext
from mloop.demo.processes import start_mloop, wait_for
from mloop.pipelines import run_pipeline
from mloop.recipes.datasets.housing import SYNTHETIC_LABEL, housing

TITLE = ("Kubeflow: the course's KFP pipeline (housing, SYNTHETIC rows) runs locally into the registry "
         "and an endpoint")
NEEDS: tuple[str, ...] = ()
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "kfp" / "housing_pipeline.py"
MODEL = "housing-kfp"
ENDPOINT = "housing-kfp"
PARAMS = {"data_path": "housing-synthetic.csv", "n_estimators": 15, "max_depth": 8,
          "r2_threshold": 0.5, "model_name": MODEL}


def run(ctx: DemoContext) -> None:
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
    _serve(ctx, newest.version, rows.drop(columns=["MedHouseVal"]).head(2))


def _serve(ctx: DemoContext, version: int, raw: Any) -> None:
    """Approve, deploy, `mloop serve`, predict: the KFP-authored model like any other."""
    import httpx

    ws = ctx.workspace
    registry.approve(ws, MODEL, version, principal=ws.settings.principal,
                     comment="R² above the pipeline's gate; approved for the demo endpoint")
    serving.deploy(ws, ENDPOINT, MODEL, version=version)
    ctx.did(f"approved {MODEL} v{version} and deployed it to endpoint '{ENDPOINT}'",
            f"mloop endpoints show {ENDPOINT}")
    url = start_mloop(ctx, ["serve", ENDPOINT], log_name="demo-serve-kfp.log")
    with httpx.Client(base_url=url, timeout=30) as http:
        wait_for(lambda: http.get("/ping").status_code == 200, "the KFP model to load")
        answer = http.post("/invocations", json={"instances": raw.to_dict(orient="records")})
    answer.raise_for_status()
    values = ", ".join(f"{p:.3f}" for p in answer.json()["predictions"])
    ctx.did(f"`mloop serve {ENDPOINT}` answered POST /invocations for {len(raw)} raw SYNTHETIC rows: "
            f"[{values}] (MedHouseVal, 100k$)", f"{url}/invocations")
