"""Reading the online store above its waist: `get_online`.

A read also finishes what a crash cut off: an ingestion committed offline whose online step
never ran is published before the group is first read (and re-checked every few seconds).
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from mloop.features.groups import cached_group, get_group, has_unpublished
from mloop.features.online.backends import online_store
from mloop.features.online.stage import repair_online

if TYPE_CHECKING:
    from mloop.store import Workspace


def get_online(
    ws: Workspace, group: str, ids: Iterable[Hashable], features: Sequence[str] | None = None,
) -> dict[Hashable, dict[str, Any]]:
    """The newest record of each id from the online store.

    Args:
        group: the feature group.
        ids: record identifiers (as given; returned keys are the same objects).
        features: feature names to return (all when None).

    Returns:
        `{id: {feature: value}}` for the ids found; ids never written are absent.
        Timestamps come back as ISO 8601 text in UTC.

    Raises:
        FeatureGroupNotFound: unknown group. InvalidInput: unknown feature name.
    """
    spec = cached_group(ws, group).spec
    _publish_pending(ws, group)
    if features is not None:
        for name in features:
            spec.feature(name)  # raises with did_you_mean
    id_list = list(ids)
    keys = [str(i) for i in id_list]
    found = online_store(ws).get(group, keys)
    out: dict[Hashable, dict[str, Any]] = {}
    for ident, key in zip(id_list, keys, strict=True):
        values = found.get(key)
        if values is None:
            continue
        out[ident] = values if features is None else {f: values.get(f) for f in features}
    return out


_checked: dict[tuple[str, str], float] = {}
_CHECK_EVERY = 5.0  # seconds; as long as the group cache lives


def _publish_pending(ws: Workspace, group: str) -> None:
    """Publish ingestions committed offline whose online step a crash cut off.

    Checked when a process first reads the group and again every few seconds (one indexed
    query), so a kill just after an ingest's commit costs one re-apply, never missing rows.
    """
    key = (ws.settings.database_url, group)
    last = _checked.get(key)
    if last is not None and time.monotonic() - last < _CHECK_EVERY:
        return
    grp = get_group(ws, group)
    if grp.spec.online and has_unpublished(ws, grp):
        repair_online(ws, grp)
    _checked[key] = time.monotonic()
