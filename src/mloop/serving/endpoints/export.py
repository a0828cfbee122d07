"""Exporting an endpoint to KServe: an `InferenceService` (v1beta1) with a custom predictor.

The predictor runs the serving image (`mloop serve` on port 8080), pointed at the endpoint and the
shared metadata database / artifact store through `MLOOP_*` variables; the pods follow the
endpoint's configuration like any `mloop serve`. When the endpoint has a canary, its weight becomes
`canaryTrafficPercent` (KServe then splits between the previous and the latest revision).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mloop.serving.endpoints.records import get_endpoint

if TYPE_CHECKING:
    from mloop.store import Workspace

API_VERSION = "serving.kserve.io/v1beta1"


def kserve_manifest(ws: Workspace, endpoint: str, *, image: str | None = None,
                    namespace: str | None = None) -> dict[str, Any]:
    """The InferenceService manifest for `endpoint` (a dict; dump it as YAML).

    Raises:
        EndpointNotFound: no such endpoint.
    """
    ep = get_endpoint(ws, endpoint)
    settings = ws.settings
    env = [
        {"name": "MLOOP_SERVING__ENDPOINT", "value": ep.name},
        {"name": "MLOOP_DATABASE_URL", "value": settings.database_url},
        {"name": "MLOOP_ARTIFACT_ROOT", "value": settings.artifact_root},
        {"name": "MLOOP_TRACKING_URI", "value": settings.tracking_uri},
        # Clients reach the pod through Knative's gateway by the InferenceService's own names (routing
        # is by Host there, so a foreign name never arrives), and those names are not the pod's.
        {"name": "MLOOP_SERVING__ALLOWED_HOSTS", "value": '["*"]'},
    ]
    if settings.s3_endpoint_url:
        env.append({"name": "MLOOP_S3_ENDPOINT_URL", "value": settings.s3_endpoint_url})
    probe = {"httpGet": {"path": "/v2/health/ready", "port": 8080}, "periodSeconds": 5}
    predictor: dict[str, Any] = {
        "minReplicas": 1,
        "containers": [{
            "name": "kserve-container",
            "image": image or settings.serving.image,
            "args": ["--host", "0.0.0.0", "--port", "8080"],
            "env": env,
            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
            "readinessProbe": probe,
            "livenessProbe": {"httpGet": {"path": "/v2/health/live", "port": 8080}, "periodSeconds": 10},
        }],
    }
    canary = sum(v.weight for v in ep.variants if v.name != "production")
    if canary and len(ep.variants) > 1:
        predictor["canaryTrafficPercent"] = canary
    variants = ",".join(f"{v.name}={v.model_name}:{v.model_version}@{v.weight}" for v in ep.variants)
    metadata: dict[str, Any] = {
        "name": _dns_name(ep.name),
        "labels": {"app.kubernetes.io/managed-by": "mloop", "mloop/endpoint": _dns_name(ep.name)},
        "annotations": {"mloop/generation": str(ep.generation), "mloop/variants": variants,
                        "serving.kserve.io/deploymentMode": "Serverless"},
    }
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": API_VERSION, "kind": "InferenceService", "metadata": metadata,
            "spec": {"predictor": predictor}}


def _dns_name(name: str) -> str:
    """Kubernetes names are DNS-1035 labels: lower case, digits and '-'."""
    out = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
    if not out or not out[0].isalpha():
        out = "ep-" + out
    return out[:63].rstrip("-")
