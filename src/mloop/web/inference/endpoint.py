"""Calling the model endpoint: one keep-alive async HTTP client, errors translated at the edge.

The app reaches a named endpoint as SageMaker clients do (`POST /endpoints/{name}/invocations`,
boto3's `invoke_endpoint`, with the request id as its InferenceId: seed 002); given only a URL it
speaks KServe V1 (`POST /v1/models/{name}:predict`) when it knows the model name, else the
container route (`POST /invocations`). All carry raw feature records as JSON. The server says
which model version and variant answered in its `X-Mloop-*` headers, and those travel with every
logged interaction.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mloop.errors import MloopError

if TYPE_CHECKING:
    import httpx


class EndpointUnavailable(MloopError):
    """The model endpoint cannot be reached or failed: nothing was predicted, nothing logged."""

    code = "endpoint_unavailable"
    http_status = 503


class EndpointError(MloopError):
    """The endpoint answered, but not with predictions we can use (misconfiguration)."""

    code = "endpoint_error"
    http_status = 502


class RecordRefused(MloopError):
    """The endpoint refused the record itself (HTTP 400: a NaN, or its input policy is `reject`):
    the caller's to fix, so the app answers 400 with the endpoint's code, message and hint."""

    code = "record_refused"  # the endpoint's own code replaces it when the endpoint sent one
    http_status = 400

    def __init__(self, message: str, hint: str | None = None, code: str | None = None,
                 input_issues: Any = None) -> None:
        super().__init__(message, hint)
        if code:
            self.code = code
        self.input_issues = input_issues

    def to_dict(self) -> dict[str, Any]:
        body = super().to_dict()
        if self.input_issues:
            body["input_issues"] = self.input_issues
        return body


@dataclass(frozen=True)
class EndpointAnswer:
    """Probabilities for the records sent, and which model version and variant produced them."""

    probabilities: list[float]
    model: str | None
    model_version: int | None
    variant: str | None
    latency_ms: float
    input_issues: list[list[str]]  # per record sent: `feature:issue` of what the model never saw


class EndpointClient:
    """An async client of one endpoint URL, reusing connections (keep-alive) across requests."""

    def __init__(self, url: str, *, model_name: str | None = None, timeout: float = 10.0,
                 transport: Any = None, endpoint_name: str | None = None) -> None:
        import httpx

        self.url = url.rstrip("/")
        self.model_name = model_name
        self.endpoint_name = endpoint_name
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
        self._client = httpx.AsyncClient(base_url=self.url, timeout=timeout, limits=limits,
                                         transport=transport)

    @property
    def route(self) -> str:
        if self.endpoint_name:
            return f"/endpoints/{self.endpoint_name}/invocations"
        return f"/v1/models/{self.model_name}:predict" if self.model_name else "/invocations"

    async def aclose(self) -> None:
        await self._client.aclose()

    async def predict(self, records: list[dict[str, Any]], inference_id: str | None = None) -> EndpointAnswer:
        """Score `records`; raises EndpointUnavailable (503) or EndpointError (502)."""
        import httpx

        started = time.perf_counter()
        sent = {"x-amzn-sagemaker-inference-id": inference_id} if inference_id and self.endpoint_name else None
        try:
            response = await self._client.post(self.route, json={"instances": records}, headers=sent)
        except httpx.TimeoutException as exc:
            raise EndpointUnavailable(
                f"the model endpoint {self.url} did not answer in time",
                hint="Check the model server (`mloop endpoints list`) or raise app.timeout_seconds.",
            ) from exc
        except httpx.HTTPError as exc:
            raise EndpointUnavailable(
                f"the model endpoint {self.url} is unreachable ({type(exc).__name__})",
                hint="Start it with `mloop serve ENDPOINT`, or point the app elsewhere with --endpoint.",
            ) from exc
        latency_ms = (time.perf_counter() - started) * 1000
        _check_status(response, self.url)
        probabilities = _probabilities(response, len(records))
        headers = response.headers
        version = headers.get("x-mloop-model-version")
        return EndpointAnswer(
            probabilities=probabilities,
            model=headers.get("x-mloop-model") or self.model_name,
            model_version=int(version) if version and version.isdigit() else None,
            variant=headers.get("x-mloop-variant") or headers.get("x-amzn-invoked-production-variant"),
            latency_ms=latency_ms,
            input_issues=_input_issues(response, len(records)),
        )


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or body.get("detail") or body)[:300]
    return str(body)[:200]


def _status(response: httpx.Response) -> int:
    """The status the model container answered (SageMaker wraps it in a 424 ModelError)."""
    if response.status_code == 424:
        try:
            return int(response.json()["OriginalStatusCode"])
        except (ValueError, KeyError, TypeError):
            return 500
    return response.status_code


def _check_status(response: httpx.Response, url: str) -> None:
    status = _status(response)
    if status >= 500:
        raise EndpointUnavailable(
            f"the model endpoint {url} failed with HTTP {status}: {_message(response)}",
            hint="Check the model server's log; nothing was logged for this request.",
        )
    if status == 400:  # the model refused the record (SageMaker's route wraps it in a 424 ModelError)
        body = _json(response)
        message = body.get("OriginalMessage") or body.get("message") or response.text[:300]
        raise RecordRefused(str(message), body.get("hint"), body.get("code"), body.get("input_issues"))
    if status >= 400:
        raise EndpointError(
            f"the model endpoint {url} refused the request (HTTP {status}): "
            f"{_message(response)}",
            hint="Check app.model_name and that the endpoint serves an ad-click model.",
        )


def _probabilities(response: httpx.Response, expected: int) -> list[float]:
    try:
        body = response.json()
        raw = body["predictions"] if isinstance(body, dict) else body
        values = [_probability(item) for item in raw]
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise EndpointError(f"the endpoint's answer has no usable predictions: {response.text[:200]}") from exc
    if len(values) != expected:
        raise EndpointError(f"the endpoint returned {len(values)} predictions for {expected} records")
    return values


def _probability(item: Any) -> float:
    """A click probability from one prediction: a number, [p0, p1], or {probability|score: p}."""
    if isinstance(item, dict):
        for key in ("probability", "score", "prediction", "value"):
            if key in item:
                return _probability(item[key])
        raise KeyError("probability")
    if isinstance(item, list):
        return float(item[-1])
    return float(item)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _input_issues(response: httpx.Response, expected: int) -> list[list[str]]:
    """Per record, what the endpoint reported it never saw (none when it reported nothing)."""
    out: list[list[str]] = [[] for _ in range(expected)]
    if "x-mloop-input-issues" not in response.headers:
        return out
    report = _json(response).get("input_issues")
    rows = report.get("rows") if isinstance(report, dict) else None
    if isinstance(rows, dict):
        for key, issues in rows.items():
            if str(key).isdigit() and int(key) < expected and isinstance(issues, list):
                out[int(key)] = [str(i) for i in issues]
    return out
