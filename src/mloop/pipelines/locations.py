"""Which files and URLs a run started over HTTP may read.

A parameter such as `data_source` is handed to `pandas.read_csv` by a step; given by a dashboard
user it would make the server read any file it can (`/etc/os-release`, `/proc/self/environ`) or
fetch any URL (an internal service). Runs started over HTTP therefore name only locations inside
the workspace, the artifact store or `[pipelines] allowed_data_roots`; anything else is refused
before the run starts. The CLI is not checked: its user reads the files as themselves.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

from mloop.errors import InvalidInput

if TYPE_CHECKING:
    from mloop.store import Workspace

# Parameters that name a location by their name, or by the look of their value.
_LOCATION_NAME = re.compile(r"(^|_)(source|path|file|uri|url|dir|location)s?$", re.IGNORECASE)
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
SYNTHETIC = "synthetic"


class LocationNotAllowed(InvalidInput):
    """A parameter names a file or URL outside what runs started over HTTP may read."""

    code = "location_not_allowed"


def is_location(name: str, value: Any) -> bool:
    """Whether parameter `name=value` names a file or URL (by its name or its value)."""
    if not isinstance(value, str) or not value.strip():
        return False
    text = value.strip()
    if _LOCATION_NAME.search(name):
        return True
    return bool(_URL.match(text)) or text.startswith(("/", "~", "./", "../")) or "/../" in text


def check_locations(ws: Workspace, params: dict[str, Any]) -> None:
    """Refuse parameters naming a file or URL outside the workspace, the artifact store and
    `[pipelines] allowed_data_roots` (`synthetic[:rows[:seed]]` is the generator, not a file).

    Raises:
        LocationNotAllowed: the first offending parameter, with the allowed places in the hint.
    """
    roots = allowed_roots(ws)
    for name, value in params.items():
        if not is_location(name, value):
            continue
        text = str(value).strip()
        if text == SYNTHETIC or text.startswith(SYNTHETIC + ":"):
            continue
        if not any(_inside(_normal(ws, text), root) for root in roots):
            raise LocationNotAllowed(
                f"parameter '{name}' names a location this server may not read",
                hint="Runs started over HTTP read only inside the workspace, the artifact store or "
                     "[pipelines] allowed_data_roots in mloop.toml; start others with `mloop run`.",
            )


def allowed_roots(ws: Workspace) -> list[str]:
    """The normalised places a run started over HTTP may read (directories end with '/')."""
    settings = ws.settings
    places = [str(ws.root), settings.artifact_root, *settings.allowed_data_roots]
    return [_as_dir(_normal(ws, place)) for place in places if place.strip()]


def _normal(ws: Workspace, text: str) -> str:
    """A URL unchanged (but file:// as a path); a path made absolute and free of links and `..`."""
    if text.lower().startswith("file://"):
        text = text[len("file://"):]
    elif _URL.match(text):
        return text
    path = os.path.expanduser(text)
    if not os.path.isabs(path):
        path = os.path.join(ws.root, path)
    return os.path.realpath(path)


def _as_dir(place: str) -> str:
    return place if place.endswith("/") else place + "/"


def _inside(target: str, root: str) -> bool:
    if _URL.match(root) and not root.lower().startswith("file://"):
        # A URL prefix: same scheme and host, a path below it; no `..` tricks in the rest.
        rest = target[len(root):].split("?", 1)[0] if target.startswith(root) else None
        return rest is not None and ".." not in rest.split("/")
    return target == root.rstrip("/") or target.startswith(root)
