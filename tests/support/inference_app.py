"""The inference app's test inputs: an ad-click record, and an in-process model endpoint stub
whose transport can be switched to "connection refused"."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI, Request

RECORD = {"age": 31, "gender": "Female", "device_type": "Mobile", "ad_position": "Top",
          "browsing_history": "Shopping", "time_of_day": "Morning"}


def model_server(state: dict[str, Any]) -> FastAPI:
    app = FastAPI()

    @app.post("/invocations")
    async def invocations(request: Request) -> Any:
        if state.get("down"):
            return httpx.Response(503)  # never reached: the transport raises first
        body = await request.json()
        state["calls"] = state.get("calls", 0) + 1
        from fastapi.responses import JSONResponse

        preds = [0.1 + 0.01 * (r["age"] or 30) / 10 for r in body["instances"]]
        return JSONResponse({"predictions": preds}, headers={
            "X-Mloop-Model": "ctr", "X-Mloop-Model-Version": "3", "X-Mloop-Variant": "production"})

    return app


class DownSwitch(httpx.AsyncBaseTransport):
    """ASGI transport to the stub server that can be switched to 'connection refused'."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state
        self.inner = httpx.ASGITransport(app=model_server(state))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.state.get("down"):
            raise httpx.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)
