"""The group a file goes into: reused by name, or created from the file as seed 001's script does.

`ingest FILE --group NAME --id COL` creates the group when it does not exist, inferring its
schema from the file. An existing group is reused only when the file fits it: every column the
group defines, no column it does not, and values of a compatible kind; otherwise the file is
refused before anything is written, with one line per difference.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mloop.features.errors import FeatureGroupNotFound, IngestRejected
from mloop.features.groups import create_group, get_group
from mloop.features.ingest_source import sample_table
from mloop.features.schema import FeatureGroup, _arrow_to_feature_type, infer_spec
from mloop.features.validate import FALSE, TRUE

if TYPE_CHECKING:
    import pyarrow as pa

    from mloop.store import Workspace

NUMBER = r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"
#: file kinds (inferred from its first rows) each group type accepts; values are checked per row later
FITS = {"int": {"int", "float"}, "float": {"int", "float"}, "bool": {"bool", "int"},
        "string": {"int", "float", "bool", "timestamp", "string"}, "timestamp": {"timestamp", "string"}}


def group_for_file(ws: Workspace, path: Path, name: str, id_column: str | None,
                   event_time: str | None) -> tuple[FeatureGroup, bool]:
    """The group `name` (checked against the file), or a new one inferred from it.

    Returns:
        (group, created).

    Raises:
        FeatureGroupNotFound: no such group and no `id_column` to create it with.
        IngestRejected: the file does not fit the existing group (each difference named).
    """
    try:
        group = get_group(ws, name)
    except FeatureGroupNotFound as exc:
        if not id_column:
            raise FeatureGroupNotFound(
                f"feature group '{name}' does not exist; to create it from {path.name}, name its record "
                f"id column", hint=f"mloop ingest {path.name} --group {name} --id COLUMN "
                "[--event-time COLUMN]") from exc
        return create_group(ws, infer_spec(path, name, id_column, event_time)), True
    differences = file_differences(path, group, id_column, event_time)
    if differences:
        raise IngestRejected(
            f"{path.name} does not fit feature group '{name}'; nothing was ingested:\n  "
            + "\n  ".join(differences),
            hint=f"See the group's schema with `mloop features show {name}`, fix the file, or ingest it "
            f"into a new group (`--group NEW --id COLUMN`).")
    return group, False


def file_differences(path: Path, group: FeatureGroup, id_column: str | None = None,
                     event_time: str | None = None) -> list[str]:
    """One line per way the file's header and first rows disagree with the group's schema."""
    spec = group.spec
    out = []
    if id_column and id_column != spec.record_identifier:
        out.append(f"--id {id_column}: the group's record id is '{spec.record_identifier}'")
    if event_time and event_time != spec.event_time:
        out.append(f"--event-time {event_time}: the group's event time is '{spec.event_time}'")
    try:
        sample = sample_table(path, 1 << 20)
        columns = sample.column_names
    except Exception:  # noqa: BLE001 — an unreadable sample only means no column hints; the ingest itself reports the file's error
        return out
    for name in spec.names:
        if name not in columns and name != spec.event_time:
            out.append(f"the file lacks column '{name}' ({spec.feature(name).type})")
    for name in columns:
        if name not in spec.name_set:
            out.append(f"the file has column '{name}', which the group does not define")
        else:
            out.extend(_kind_difference(sample.column(name), name, spec.feature(name).type))
    return out


def _kind_difference(column: pa.ChunkedArray, name: str, wanted: str) -> list[str]:
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_null(column.type) or column.null_count == len(column):
        return []
    found = _arrow_to_feature_type(column.type)
    if found in FITS[wanted]:
        return []
    if found == "string" and wanted in ("int", "float"):  # a few bad values are row rejects, not a schema clash
        share = pc.mean(pc.match_substring_regex(column.drop_null(), NUMBER)).as_py() or 0.0
        if share >= 0.5:
            return []
    if found == "string" and wanted == "bool":
        low = pc.utf8_lower(pc.utf8_trim_whitespace(column.drop_null()))
        if (pc.mean(pc.is_in(low, value_set=pa.array(TRUE + FALSE))).as_py() or 0.0) >= 0.5:
            return []
    example = column.drop_null()[0].as_py()
    return [f"column '{name}' holds {found} values (e.g. {example!r}); the group declares {wanted}"]
