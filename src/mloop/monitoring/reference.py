"""The reference side of a drift report: the data a model version was trained on.

Found through lineage (`mloop.lineage.model`): the DataFrame artifacts upstream of the step that
produced the version, read back from the artifact store by digest. The earliest one holding
the raw features wins (the extract, before any split or encoding), since the app logs raw
features. When no artifact fits, the feature groups the run read are extracted instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mloop import registry
from mloop.errors import InvalidInput, NotFound
from mloop.features import extract
from mloop.lineage import model as model_lineage
from mloop.model_format import load_model_dir
from mloop.serving.runtime.model_cache import model_dir

if TYPE_CHECKING:
    import pandas as pd

    from mloop.store import Workspace

MIN_FEATURES = 2


def training_data(ws: Workspace, model_name: str, version: int,
                  features: list[str] | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """`(frame, info)`: the training data of `model_name` v`version` and where it came from.

    Raises:
        NotFound: the version is unknown, or lineage records no data for it.
    """
    chain = model_lineage(ws, model_name, int(version))
    wanted = set(features or ())
    for item in chain.get("data") or []:
        if "frame" not in str(item.get("type", "")).lower() and not str(item.get("uri", "")).endswith(".parquet"):
            continue
        frame = _read(ws, item["digest"])
        if frame is None:
            continue
        if (wanted and wanted <= set(frame.columns)) or (not wanted and len(frame.columns) >= MIN_FEATURES):
            return frame, {"source": "artifact", "name": item["name"], "digest": item["digest"],
                           "model": model_name, "version": int(version), "rows": len(frame)}
    for group in chain.get("featureGroups") or []:
        frame = extract(ws, group["name"])
        return frame, {"source": "feature_group", "name": group["name"], "dataVersion": group.get("dataVersion"),
                       "model": model_name, "version": int(version), "rows": len(frame)}
    raise NotFound(f"lineage records no training data for model '{model_name}' version {version}",
                   hint="Pass the training data explicitly: `mloop monitor drift ENDPOINT --reference FILE`.")


def _read(ws: Workspace, digest: str) -> pd.DataFrame | None:
    import pandas as pd

    try:
        with ws.artifacts.open(digest) as fh:
            return pd.read_parquet(fh)
    except Exception:  # noqa: BLE001 — not a Parquet artifact (a model dir, JSON metrics...): not a candidate
        return None


def read_reference_file(path: str) -> pd.DataFrame:
    """A CSV or Parquet file given with `--reference`."""
    import pandas as pd

    try:
        return pd.read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path)
    except FileNotFoundError as exc:
        raise NotFound(f"reference file {path} does not exist") from exc
    except Exception as exc:
        raise InvalidInput(f"cannot read reference file {path}: {exc}") from exc


def reference_predictions(ws: Workspace, model_name: str, version: int, reference: pd.DataFrame,
                          rows: int = 5000) -> list[float]:
    """What the serving model predicts on (a sample of) its own training data: the baseline the
    live prediction distribution is compared with. Loads the model the way the server does."""
    mv = registry.get_version(ws, model_name, int(version))
    model = load_model_dir(model_dir(ws, mv.model_uri))
    sample = reference.sample(min(rows, len(reference)), random_state=0) if len(reference) > rows else reference
    scores = model.predict_frame(sample)
    return [float(s) for s in (scores if scores.ndim == 1 else scores[:, -1])]
