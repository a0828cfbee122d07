"""What a finished run decided, in the words a user needs: the gate and what the model learned from.

    auc 0.7278 >= 0.7: registered ad-click-ctr v2, PendingManualApproval
    auc 0.5130 < 0.7: not registered; alert #3
    trained on 8,000 rows, 6 features: age, gender, ...; left out: id (record id), ...

Read from the run's step records and outputs (the gate steps' results, the train step's model
spec), so `mloop run` and `mloop runs show` say the same thing.
"""

from __future__ import annotations

import math
import tarfile
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mloop.pipelines.runs import RunRecord, StepRunRecord
    from mloop.store import Workspace

DONE = ("Succeeded", "Cached")


def _output(ws: Workspace, step: StepRunRecord) -> Any:
    from mloop.errors import MloopError
    from mloop.pipelines.materializers import load_output

    if not step.outputs:
        return None
    try:  # from the record in hand: no second read of the run per step
        return load_output(ws, next(iter(step.outputs.values())))
    except (MloopError, OSError, ValueError):
        return None


def _num(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) and not math.isnan(value) else str(value)


def gate_line(ws: Workspace, record: RunRecord) -> str | None:
    """`auc 0.7278 >= 0.7: registered NAME vN, STATUS` or `... < ...: not registered; alert #N`."""
    for step in record.steps:
        if step.status not in DONE or step.kind not in ("RegisterModel", "Alert"):
            continue
        out = _output(ws, step)
        if not isinstance(out, dict):
            continue
        metric, score, threshold = out.get("metric") or "score", out.get("score"), out.get("threshold")
        if step.kind == "RegisterModel":
            gate = f"{metric} {_num(score)} >= {threshold}: " if threshold is not None else ""
            return f"{gate}registered {out.get('name')} v{out.get('version')}, {out.get('status')}"
        return f"{metric} {_num(score)} < {threshold}: not registered; alert #{out.get('alert_id')}"
    return None


def training_line(ws: Workspace, record: RunRecord) -> str | None:
    """`trained on N rows, K features: ...; left out: col (reason), ...` from the train step."""
    from mloop.recipes.identifiers import describe_left_out

    step = next((s for s in record.steps if s.kind == "Training" and s.status in DONE), None)
    if step is None:
        return None
    spec = _model_spec(ws, step)
    meta = spec.get("metadata") or {}
    rows = meta.get("train_rows", step.metrics.get("train_rows"))
    names = list(spec.get("feature_names") or [])
    used = f"{len(names)} features: {', '.join(names)}" if names else (
        f"{int(step.metrics.get('features_used', 0))} features")
    line = f"trained on {int(rows or 0):,} rows, {used}"
    if "features_left_out" in meta:
        line += f"; left out: {describe_left_out(meta['features_left_out'])}"
    return line


def _model_spec(ws: Workspace, step: StepRunRecord) -> dict[str, Any]:
    """The train step's model spec (names, metadata), read from its stored files, not by loading
    the model: that would import the estimator's library for one line of text."""
    import json

    from mloop.errors import MloopError
    from mloop.model_format import SPEC_FILE
    from mloop.pipelines.materializers import read_output_file

    info = step.outputs.get("model")
    if not info:
        return {}
    try:
        raw = read_output_file(ws, info, SPEC_FILE)
        spec = json.loads(raw) if raw else {}
    except (MloopError, OSError, ValueError, tarfile.TarError):
        return {}
    return spec if isinstance(spec, dict) else {}


def data_lines(record: RunRecord) -> list[str]:
    """How many records of how many ids were read, and whether ids straddle the split."""
    out = []
    for step in record.steps:
        m = step.metrics
        if "ids_read" in m:
            out.append(f"read {int(m['rows_read']):,} records of {int(m['ids_read']):,} ids "
                       f"({int(m['repeated_ids']):,} ids repeat) from {step.name} "
                       f"(records={record.params.get('records', '?')})")
        if m.get("ids_in_train_and_test"):
            out.append(f"warning: {int(m['ids_in_train_and_test']):,} ids have records in both train and test "
                       f"({int(m['test_rows_of_train_ids']):,} test rows): the metric overstates how the model "
                       f"does on new ids; --param split=group measures that")
    return out


def outcome_lines(ws: Workspace, record: RunRecord) -> list[str]:
    """The gate's outcome, the training facts and the data warnings, for the end of `mloop run`."""
    lines = [gate_line(ws, record), training_line(ws, record), *data_lines(record)]
    return [line for line in lines if line]
