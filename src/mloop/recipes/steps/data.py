"""Steps that bring data in and check it: extract (feature group), load (CSV/Parquet or the
SYNTHETIC generator), and validate (a failed validation stops the run with a report artifact)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pandas as pd  # the DSL resolves step annotations at import time

from mloop.errors import InvalidInput
from mloop.features import build_training_set, get_group
from mloop.features import extract as extract_group
from mloop.pipelines import current_context, step
from mloop.pipelines.typecheck import FeatureGroupName
from mloop.recipes.datasets.california import fetch
from mloop.recipes.datasets.housing import housing
from mloop.recipes.identifiers import set_roles
from mloop.recipes.splitting import describe_ids
from mloop.recipes.steps.validation import ValidationFailed, check_data, summary
from mloop.store.artifacts import storage_options

if TYPE_CHECKING:
    from mloop.store import Workspace

SYNTHETIC = "synthetic"


def workspace() -> Workspace:
    """The workspace of the running step."""
    return current_context().workspace


def read_group(ws: Workspace, group: str, *, as_of: str = "", drop_keys: bool = False,
               records: str = "latest") -> pd.DataFrame:
    """A feature group's records ("all" or the newest per id), its id and event time marked as
    such (`mloop.recipes.identifiers.roles`) or dropped when `drop_keys`."""
    frame = extract_group(ws, group, as_of=as_of or None, records=records)
    spec = get_group(ws, group).spec
    if drop_keys:
        return frame.drop(columns=[c for c in (spec.record_identifier, spec.event_time) if c in frame.columns])
    return set_roles(frame, spec.record_identifier, spec.event_time, group)


@step(name="extract")
def extract(group: FeatureGroupName, as_of: str = "", drop_keys: bool = False,
            records: str = "latest") -> pd.DataFrame:
    """A feature group's records: `records="all"` (every record, as SageMaker's offline store
    reads) or "latest" (the newest per id); its data version joins the cache key. The id and
    event time come along for a grouped split; the train step leaves them out of the features."""
    frame = read_group(workspace(), group, as_of=as_of, drop_keys=drop_keys, records=records)
    ident = "" if drop_keys else frame.attrs["mloop"]["id"]
    if ident:
        counts = frame[ident].value_counts()
        current_context().log_metrics({"rows_read": len(frame), "ids_read": len(counts),
                                       "repeated_ids": int((counts > 1).sum())})
    print(f"read {describe_ids(frame, ident)} x {frame.shape[1]} columns from feature group '{group}' "
          f"(records={records})")
    return frame


@step(name="training-set")
def training_set(entities: pd.DataFrame, group: FeatureGroupName, features: list | None = None,
                 id_column: str = "", time_column: str = "") -> pd.DataFrame:
    """Point-in-time join: each entity row (id, time, label...) gets `group`'s feature values as
    they were at that row's time, never later ones (no leakage). All features when `features` is empty."""
    wanted = [f"{group}:{name}" for name in (features or ["*"])]
    frame = build_training_set(workspace(), entities, wanted, id_column=id_column or None,
                               time_column=time_column or None)
    print(f"point-in-time training set: {len(frame)} rows x {frame.shape[1]} columns from '{group}'")
    return frame


def read_source(ws: Workspace | None, data_source: str) -> pd.DataFrame:
    """`synthetic[:rows[:seed]]` (SYNTHETIC housing rows), `sklearn[:cache_dir]` (the real
    California Housing through scikit-learn) or a CSV/Parquet path or URL.

    Raises:
        InvalidInput: an unreadable source. DatasetUnavailable: sklearn data not downloadable.
    """
    if data_source == "sklearn" or data_source.startswith("sklearn:"):
        return fetch(data_source.partition(":")[2] or None)
    if data_source == SYNTHETIC or data_source.startswith(SYNTHETIC + ":"):
        parts = data_source.split(":")[1:]
        try:
            rows, seed = int(parts[0]) if parts else 20_000, int(parts[1]) if len(parts) > 1 else 0
        except ValueError as exc:
            raise InvalidInput(f"data_source '{data_source}': expected synthetic[:rows[:seed]]") from exc
        return housing(rows, seed)
    options: dict[str, Any] = {}
    if found := storage_options(data_source, ws.settings.s3_endpoint_url if ws is not None else None):
        options["storage_options"] = found
    reader = pd.read_parquet if data_source.endswith((".parquet", ".pq")) else pd.read_csv
    try:
        return reader(data_source, **options)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InvalidInput(f"cannot read data_source '{data_source}': {exc}",
                           hint="Pass a CSV or Parquet path/URL, 'sklearn' for California Housing, "
                           "or 'synthetic' for generated rows.") from exc


@step(name="load", cache=False)
def load_table(data_source: str = SYNTHETIC) -> pd.DataFrame:
    """Rows from a file (re-read every run; later steps cache on its content digest)."""
    frame = read_source(workspace(), data_source)
    label = " (SYNTHETIC rows)" if frame.attrs.get("synthetic") else ""
    print(f"loaded {len(frame)} rows x {frame.shape[1]} columns from {data_source}{label}")
    return frame


@step(name="load", cache=False)
def load_source(feature_group: FeatureGroupName = "", data_source: str = "",
                records: str = "latest") -> pd.DataFrame:
    """A feature group when named (`records`: "all" or "latest" per id), else a file."""
    ws = workspace()
    if feature_group:
        frame = read_group(ws, feature_group, records=records)
    elif data_source:
        frame = read_source(ws, data_source)
    else:
        raise InvalidInput("nothing to load: pass --param feature_group=NAME or --param data_source=PATH "
                           "(and --param target=COLUMN)",
                           hint="mloop run tabular --param feature_group=NAME --param target=COLUMN")
    print(f"loaded {len(frame)} rows x {frame.shape[1]} columns from {feature_group or data_source}")
    return frame


@step(name="validate", outputs=("data", "report"))
def validate(
    data: pd.DataFrame, target: str, min_rows: int = 100, max_null_ratio: float = 0.6,
    required: list | None = None, ranges: dict | None = None, min_minority_ratio: float = 0.01,
    task: str = "auto", numeric: list | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Schema, row count, null ratios, ranges and label balance; fails the run when any fails.

    The report is stored as an artifact either way; on failure its URI is in the error.
    """
    report = check_data(data, target=target, min_rows=min_rows, max_null_ratio=max_null_ratio,
                        required=list(required or []), ranges=dict(ranges or {}),
                        min_minority_ratio=min_minority_ratio, task=task, numeric=list(numeric or []))
    text = summary(report)
    print(text)
    if not report["passed"]:
        ws = workspace()
        digest = ws.artifacts.put(json.dumps(report, indent=2, default=str).encode())
        uri = ws.artifacts.uri(digest)
        print(f"validation report: {uri}")
        raise ValidationFailed(f"{text} (report: {uri})", hint="Fix the data or relax the validation "
                               "parameters (min_rows, max_null_ratio, ranges).", report_uri=uri)
    return data, report
