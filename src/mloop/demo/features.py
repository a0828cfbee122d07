"""Chapter: a feature group fed from a CSV with broken rows, read offline, online and point-in-time."""

from __future__ import annotations

from mloop.demo import DemoContext
from mloop.features import build_training_set, create_group, data_version, extract, get_online, ingest, put_records
from mloop.recipes.datasets.ad_clicks import ad_clicks, ad_clicks_spec, write_broken_csv
from mloop.recipes.datasets.seed_file import write_seed_shaped_csv

TITLE = "Features: validated ingest, quarantine, snapshot, online reads, point-in-time join"
NEEDS: tuple[str, ...] = ("workspace",)
GROUP = "ad-clicks"
SEED_GROUP = "ad-clicks-seed-shaped"


def run(ctx: DemoContext) -> None:
    ws = ctx.workspace
    csv_path = ws.root / "data" / "ad_click_dataset.csv"
    csv_path.parent.mkdir(exist_ok=True)
    broken = write_broken_csv(ad_clicks(5000, seed=7), csv_path)
    ctx.did(f"generated 5,000 ad-click rows plus {len(broken)} broken ones", str(csv_path))
    group = create_group(ws, ad_clicks_spec(GROUP))
    ctx.did(f"created feature group '{group.name}' ({len(group.spec.features)} typed features, "
            f"id={group.spec.record_identifier}, event time={group.spec.event_time})",
            "mloop features show " + GROUP)
    report = ingest(ws, csv_path, GROUP)
    ctx.did(f"ingested {report.ingested:,} of {report.rows:,} rows at {report.rows_per_second:,.0f} rows/s; "
            f"data version {report.data_version}")
    ctx.did(f"quarantined {report.rejected} rows with line numbers and reasons", report.quarantine)
    for example in report.examples:
        ctx.say(f"  line {example['line']}: {example['reason']}")
    again = ingest(ws, csv_path, GROUP)
    ctx.did(f"re-ingesting the same file is a no-op (skipped={again.skipped}, "
            f"data version still {data_version(ws, GROUP)})")
    snapshot = extract(ws, GROUP, columns=["age", "device_type", "click"])
    ctx.did(f"extracted a snapshot: {len(snapshot):,} rows x {snapshot.shape[1]} columns", "extract()")
    ids = [int(i) for i in snapshot["id"].head(3)]
    online = get_online(ws, GROUP, ids, features=["age", "device_type", "click"])
    for ident, values in online.items():
        ctx.say(f"  online[{ident}] = {values}")
    put_records(ws, GROUP, [{"id": ids[0], "age": 41, "device_type": "Tablet", "click": 1}])
    newest = get_online(ws, GROUP, [ids[0]], features=["age", "device_type"])[ids[0]]
    ctx.did(f"put_records acknowledged a new event for id {ids[0]}; online now {newest}")
    entities = snapshot[["id", "event_time"]].head(1000)
    training = build_training_set(ws, entities, [f"{GROUP}:age", f"{GROUP}:ad_position"])
    ctx.did(f"point-in-time training set: {len(training):,} entity rows in, {len(training):,} out",
            "build_training_set()")
    _seed_shaped(ctx)
    ctx.state.update({"feature_group": GROUP, "ad_clicks_csv": str(csv_path),
                      "feature_data_version": data_version(ws, GROUP)})


def _seed_shaped(ctx: DemoContext) -> None:
    """The seed's own kind of file: the group is created from it, and the report says what is odd."""
    path = write_seed_shaped_csv(ctx.workspace.root / "data" / "ad_click_dataset_seed_shaped.csv")
    report = ingest(ctx.workspace, path, SEED_GROUP, id_column="id")
    ctx.did(f"ingested a seed-shaped file (repeated ids, no event time, ages as 22.0) into the new group "
            f"'{SEED_GROUP}': {report.ingested:,} of {report.rows:,} rows",
            f"mloop ingest {path.name} --group {SEED_GROUP} --id id")
    for note in report.notes():
        ctx.say(f"  {note}")
