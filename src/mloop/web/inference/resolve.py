"""Which URL the app calls: a URL as given, or an endpoint name looked up where `mloop serve`
announced it (so the app follows the endpoint, never a hard-coded model: seed 002)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mloop.errors import ConfigError, NotFound, did_you_mean
from mloop.serving import list_endpoints, served_url
from mloop.serving.endpoints import find_endpoint

if TYPE_CHECKING:
    from mloop.store import Workspace


def resolve_endpoint(ws: Workspace, endpoint: str | None, model_name: str | None) -> tuple[str, str | None]:
    """`(url, model_name)` for an endpoint URL or name.

    Raises:
        ConfigError: no endpoint given or configured.
        NotFound: a name no running `mloop serve` announced.
    """
    if not endpoint:
        raise ConfigError("the inference app needs an endpoint",
                          hint="Pass --endpoint URL_OR_NAME or set app.endpoint (MLOOP_APP__ENDPOINT).")
    if endpoint.startswith(("http://", "https://")):
        return endpoint.rstrip("/"), model_name
    return _announced_url(ws, endpoint), model_name


def _announced_url(ws: Workspace, name: str) -> str:
    url = served_url(ws, name)
    if url:
        return str(url)
    if find_endpoint(ws, name) is None:
        raise NotFound(f"endpoint '{name}' does not exist in this workspace",
                       hint=did_you_mean(name, [e.name for e in list_endpoints(ws)])
                       + ". Create one with `mloop deploy`, or pass a URL: --endpoint http://HOST:PORT.")
    raise NotFound(f"endpoint '{name}' is not being served from this workspace",
                   hint=f"Start it with `mloop serve {name}`, or pass its URL: --endpoint http://HOST:PORT.")
