"""The deploy step: the registered version goes to an endpoint once it is Approved.

Seed 003's pipeline ends Train → Evaluate → Deploy (KServe). Here the version the register
step made is deployed to `endpoint` when it is Approved (by a human, or at registration by the
model's approval policy); otherwise the step ends with a message that the version waits for
approval and how to give it. With `namespace`, the endpoint's KServe InferenceService manifest
for that namespace is part of the step's output (what `mloop endpoints export` writes).
"""

from __future__ import annotations

from typing import Any

from mloop import registry
from mloop.pipelines import current_context, step
from mloop.serving import deploy
from mloop.serving.endpoints.export import kserve_manifest


@step(name="deploy", kind="Deploy", cache=False)
def deploy_model(registered: dict, endpoint: str = "", namespace: str = "") -> dict:
    """Deploy the registered version to `endpoint` if it is Approved; else say it waits."""
    ctx = current_context()
    name, version = str(registered["name"]), int(registered["version"])
    if not endpoint:
        message = (f"{name} version {version} registered; no deploy_endpoint given, so nothing is "
                   f"deployed (deploy it with `mloop deploy ENDPOINT --model {name} --version {version}`)")
        print(message)
        return {"deployed": False, "model": name, "version": version, "message": message}
    current = registry.get_version(ctx.workspace, name, version)
    if current.status != "Approved":
        message = (f"{name} version {version} is {current.status} and waits for approval; "
                   f"`mloop models approve {name} {version} --comment ...`, then "
                   f"`mloop deploy {endpoint} --model {name} --version {version}` "
                   f"(or set [registry.policies.{name}] auto_approve)")
        print(message)
        return {"deployed": False, "model": name, "version": version, "status": current.status,
                "endpoint": endpoint, "message": message}
    return _deploy(ctx.workspace, endpoint, name, version, namespace, current.decided_by)


def _deploy(ws: Any, endpoint: str, name: str, version: int, namespace: str,
            approved_by: str | None) -> dict:
    ep = deploy(ws, endpoint, name, version=version)
    out: dict[str, Any] = {"deployed": True, "model": name, "version": version, "endpoint": endpoint,
                           "generation": ep.generation, "approved_by": approved_by}
    print(f"deployed {name} version {version} (approved by {approved_by}) to endpoint "
          f"'{endpoint}' (generation {ep.generation})")
    if namespace:
        out["kserve"] = kserve_manifest(ws, endpoint, namespace=namespace)
        print(f"KServe InferenceService for namespace '{namespace}' is in this step's output "
              f"(`mloop runs show`; or `mloop endpoints export {endpoint} --namespace {namespace}`)")
    return out
