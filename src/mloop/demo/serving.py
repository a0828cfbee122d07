"""Chapter: approve the pipeline's model, deploy it, call it over three protocols, canary, promote."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mloop import registry, serving
from mloop.demo import DemoContext
from mloop.demo.pipelines import AD_CLICK_PARAMS, _registered, _run
from mloop.demo.processes import start_mloop, wait_for
from mloop.errors import MloopError
from mloop.recipes.datasets import ad_clicks

if TYPE_CHECKING:
    import httpx

TITLE = "Endpoints: deploy an Approved model, SageMaker + KServe V1/V2 calls, a 20% canary, promote"
NEEDS: tuple[str, ...] = ("features", "pipelines")
ENDPOINT = "ad-click"
CANARY = 20


def run(ctx: DemoContext) -> None:
    ws = ctx.workspace
    model, version = ctx.state["pipeline_model"], int(ctx.state["pipeline_model_version"])
    try:
        serving.deploy(ws, ENDPOINT, model, version=version)
    except MloopError as exc:
        ctx.say(f"deploy of a Pending version → [red]{exc.message}[/]")
    registry.approve(ws, model, version, principal=ws.settings.principal,
                     comment="AUC above the gate; approved for the demo endpoint")
    ctx.did(f"approved {model} v{version}", f"mloop models history {model}")
    url = _start_server(ctx)
    serving.deploy(ws, ENDPOINT, model, version=version, follow_approved=True, canary_weight=CANARY)
    ctx.did(f"deployed {model} v{version} to endpoint '{ENDPOINT}', following new approvals "
            f"(they arrive as a {CANARY}% canary)", f"mloop endpoints show {ENDPOINT}")
    import httpx

    with httpx.Client(base_url=url, timeout=30) as http:
        wait_for(lambda: http.get("/ping").status_code == 200, "the first model to load")
        _invoke(ctx, http)
        new = _second_version(ctx)
        wait_for(lambda: _variant(http) == "canary", f"v{new} to arrive as the canary")
        split = _split(http, 300)
        ctx.did(f"v{new} arrived by itself as the canary: {split.get('canary', 0)}/300 requests "
                f"({split.get('canary', 0) / 3:.0f}%) answered by it", f"mloop endpoints history {ENDPOINT}")
        serving.promote(ws, ENDPOINT)
        wait_for(lambda: all(_answer(http)[1] == str(new) for _ in range(20)), "the promotion")
        ctx.did(f"promoted the canary: v{new} now answers every request (production, 100%)")
    for row in reversed(serving.history(ws, ENDPOINT, limit=10)):
        config = ", ".join(f"{v['name']}=v{v['model_version']}@{v['weight']}%" for v in row["variants"])
        ctx.say(f"[dim]gen {row['generation']}[/] {row['action']:<11} by {row['principal']:<12} {config}")
    ctx.say(f"try: [bold]mloop endpoints history {ENDPOINT}[/] · [bold]mloop endpoints rollback {ENDPOINT}[/] · "
            f"[bold]curl {url}/metrics[/]")
    ctx.state.update(endpoint=ENDPOINT, serving_endpoint=ENDPOINT, endpoint_url=url,
                     serving_model=model, serving_version=new)


def _start_server(ctx: DemoContext) -> str:
    url = start_mloop(ctx, ["serve", ENDPOINT, "--poll-interval", "0.25"], log_name="demo-serve.log")
    ctx.did(f"started `mloop serve {ENDPOINT}`", url)
    return url


def _invoke(ctx: DemoContext, http: httpx.Client) -> None:
    inputs = http.get(f"/v2/models/{ENDPOINT}").json()["inputs"]
    names = [i["name"] for i in inputs]
    rows = ad_clicks(2, seed=99)[names].astype(object).where(lambda f: f.notna(), None).values.tolist()
    csv = "\n".join(",".join("" if v is None else str(v) for v in row) for row in rows)
    r = http.post("/invocations", content=csv, headers={"content-type": "text/csv"})
    ctx.did(f"SageMaker  POST /invocations text/csv ({len(rows)} raw rows) → {r.json()['predictions']} "
            f"[dim]({_who(r)})[/]")
    unseen = ",".join({"FP64": "31", "BOOL": "true"}.get(i["datatype"], "Robot") for i in inputs)  # never seen
    r = http.post("/invocations", content=unseen, headers={"content-type": "text/csv"})
    ctx.did(f"SageMaker  POST /invocations {unseen!r} → {r.status_code}, scored and reported "
            f"(input policy warn): X-Mloop-Input-Issues: {r.headers.get('x-mloop-input-issues')}")
    r = http.post(f"/v1/models/{ENDPOINT}:predict", json={"instances": [dict(zip(names, rows[0], strict=True))]})
    ctx.did(f"KServe V1  POST /v1/models/{ENDPOINT}:predict → {r.json()} [dim]({_who(r)})[/]")
    inputs = [{"name": n, "shape": [1], "datatype": "FP64" if isinstance(v, int | float) else "BYTES", "data": [v]}
              for n, v in zip(names, rows[0], strict=True)]
    r = http.post(f"/v2/models/{ENDPOINT}/infer", json={"id": "demo-1", "inputs": inputs})
    r.raise_for_status()
    ctx.did(f"Open Inference V2  POST /v2/models/{ENDPOINT}/infer → {r.json()['outputs'][0]['data']} "
            f"[dim]({_who(r)})[/]")
    ctx.state["serving_features"] = names


def _second_version(ctx: DemoContext) -> int:
    record = _run(ctx, "ad-click-ctr", {**AD_CLICK_PARAMS, "max_depth": 5})
    mv = _registered(ctx, record)
    version = int(mv["version"])
    registry.approve(ctx.workspace, ctx.state["pipeline_model"], version,
                     principal=ctx.workspace.settings.principal, comment="retrained with max_depth=5")
    ctx.did(f"trained and approved v{version}; the server notices the approval on its own")
    return version


def _answer(http: httpx.Client) -> tuple[str, str]:
    r = http.post("/invocations", json={"instances": [_RECORD]})
    return r.headers.get("x-mloop-variant", ""), r.headers.get("x-mloop-model-version", "")


_RECORD = {"age": 31, "gender": "Female", "device_type": "Mobile", "ad_position": "Top",
           "browsing_history": "Shopping", "time_of_day": "Morning"}


def _variant(http: httpx.Client) -> str:
    seen = {_answer(http)[0] for _ in range(20)}
    return "canary" if "canary" in seen else "production"


def _split(http: httpx.Client, n: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for _ in range(n):
        variant = _answer(http)[0]
        out[variant] = out.get(variant, 0) + 1
    return out


def _who(r: Any) -> str:
    return (f"{r.status_code}, {r.headers.get('x-mloop-model')} v{r.headers.get('x-mloop-model-version')}"
            f" variant {r.headers.get('x-mloop-variant')}")
