"""Verify: smoke invocations through each protocol of the endpoint, and the answering version.

Every call targets the deployed variant (`X-Mloop-Target-Variant`), must answer 200 with one
prediction per record, and must say (`X-Mloop-Model-Version`) that the version this release
deployed answered. Servers pick up a new configuration within their poll interval, so an answer
from the old version (or a 503 while loading) is retried until `VERIFY_TIMEOUT_S`; any other
failure fails at once.
Without `verify_url` the endpoint's server runs in-process (same app, same protocols).
Choosing a variant by header needs a deployer's token, so the stage issues itself one (stored
hashed like any token, principal `release-ID`) and revokes it when the calls are done.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from mloop.auth import create_token, revoke_token
from mloop.release.errors import StageFailed
from mloop.serving import create_app
from mloop.serving.runtime.model_cache import model_dir

if TYPE_CHECKING:
    import httpx

    from mloop.release.records import Release
    from mloop.store import Workspace

VERIFY_TIMEOUT_S = 30.0
PROTOCOLS = ("sagemaker", "kserve-v1", "open-inference-v2")


def _v2_tensor(name: str, values: list[Any]) -> dict[str, Any]:
    if all(isinstance(v, bool) for v in values):
        datatype = "BOOL"
    elif all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        datatype = "INT64"
    elif all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        datatype = "FP64"
    else:
        datatype, values = "BYTES", [str(v) for v in values]
    return {"name": name, "shape": [len(values)], "datatype": datatype, "data": values}


def _plain(value: Any) -> Any:
    # Input examples keep missing values as NaN, which JSON cannot carry: send null instead.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def requests_for(model: str, records: list[dict[str, Any]]) -> dict[str, tuple[str, dict[str, Any]]]:
    """(path, JSON body) of one smoke request per protocol."""
    columns = list(records[0])
    v2 = {"inputs": [_v2_tensor(c, [r.get(c) for r in records]) for c in columns]}
    return {
        "sagemaker": ("/invocations", {"instances": records}),
        "kserve-v1": (f"/v1/models/{model}:predict", {"instances": records}),
        "open-inference-v2": (f"/v2/models/{model}/infer", v2),
    }


def _count(protocol: str, doc: Any) -> int:
    if protocol == "open-inference-v2":
        outputs = doc.get("outputs") or [{}]
        shape = outputs[0].get("shape") or [0]
        return int(shape[0])
    return len(doc.get("predictions") or [])


def _check(client: httpx.Client, protocol: str, path: str, body: dict[str, Any], variant: str,
           version: int, n: int) -> dict[str, Any] | None:
    """One call; the result, or None when the old version still answers (retry)."""
    import httpx

    started = time.perf_counter()
    try:
        resp = client.post(path, json=body, headers={"X-Mloop-Target-Variant": variant})
    except httpx.TransportError as exc:  # connection refused, timeout...
        raise StageFailed(f"{protocol} smoke call {path} failed: {type(exc).__name__}: {exc}",
                          hint="Is the model server running at [release] verify_url?") from exc
    ms = round((time.perf_counter() - started) * 1000, 1)
    answered = resp.headers.get("x-mloop-model-version")
    if resp.status_code == 503 or (resp.status_code == 200 and answered != str(version)):
        return None  # the server has not loaded this deploy yet
    if resp.status_code != 200:
        raise StageFailed(f"{protocol} smoke call {path} answered {resp.status_code}: {resp.text[:300]}",
                          hint="Check [release] verify_payload against the model's features.")
    got = _count(protocol, resp.json())
    if got != n:
        raise StageFailed(f"{protocol} smoke call returned {got} predictions for {n} records")
    return {"protocol": protocol, "path": path, "status": resp.status_code, "version": answered,
            "variant": resp.headers.get("x-mloop-variant"), "ms": ms}


@contextmanager
def _client(ws: Workspace, release: Release, url: str | None) -> Iterator[httpx.Client]:
    import httpx

    token, record = create_token(ws, f"release-{release.id}", "deployer", created_by=release.created_by,
                                 note=f"Verify smoke calls of release {release.id}")
    headers = {"Authorization": f"Bearer {token}"}
    try:
        if url:
            with httpx.Client(base_url=url.rstrip("/"), timeout=10.0, headers=headers) as client:
                yield client
            return
        from starlette.testclient import TestClient

        app: Any = create_app(ws, release.endpoint)
        with TestClient(app, raise_server_exceptions=False, headers=headers) as client:
            yield client
    finally:
        revoke_token(ws, record.id)


def smoke(ws: Workspace, release: Release, deployed: dict[str, Any], options: dict[str, Any]) -> list[dict[str, Any]]:
    """Run the smoke calls of every protocol; the list of results.

    Raises:
        StageFailed: a call failed, answered wrongly, or the deployed version never answered.
    """
    records = options.get("verify_payload") or default_payload(ws, release.model, int(deployed["version"]))
    records = [{k: _plain(v) for k, v in r.items()} for r in records]
    version, variant = int(deployed["version"]), str(deployed.get("variant") or "production")
    results: list[dict[str, Any]] = []
    with _client(ws, release, options.get("verify_url")) as client:
        for protocol, (path, body) in requests_for(release.model, records).items():
            deadline = time.monotonic() + VERIFY_TIMEOUT_S
            while (result := _check(client, protocol, path, body, variant, version, len(records))) is None:
                if time.monotonic() > deadline:
                    raise StageFailed(
                        f"endpoint '{release.endpoint}' did not answer with v{version} (variant {variant}) "
                        f"within {VERIFY_TIMEOUT_S:g} s",
                        hint="Is the server at verify_url serving this workspace's endpoint? "
                        "Its log says why a model did not load.",
                    )
                time.sleep(0.2)
            results.append(result)
    return results


def default_payload(ws: Workspace, model: str, version: int) -> list[dict[str, Any]]:
    """The model's saved input example, when `[release] verify_payload` is not set.

    Raises:
        StageFailed: neither is available.
    """
    import json

    uri = f"models:/{model}/{version}"
    try:
        path = model_dir(ws, uri)
        for candidate in path.rglob("input_example.json"):
            doc = json.loads(candidate.read_text())
            if isinstance(doc, dict) and "columns" in doc and "data" in doc:
                return [dict(zip(doc["columns"], row, strict=True)) for row in doc["data"][:3]]
            if isinstance(doc, list) and doc and isinstance(doc[0], dict):
                return doc[:3]
    except Exception:  # noqa: BLE001 — an endpoint's example that does not parse falls through to the clear StageFailed below
        pass
    raise StageFailed(
        f"no smoke payload for {model} v{version}: the model has no input example",
        hint='Set [release] verify_payload = [{feature = value, ...}] in mloop.toml.',
    )
