"""The feature store: feature groups, validated ingest, offline (Parquet + DuckDB) and online
(SQLite or Redis) stores, point-in-time training sets and durable record writes.

Everything a pipeline step or an app needs is exported here; heavy libraries (pyarrow, DuckDB,
pandas) load inside the functions that use them.
"""

from mloop.features.deletion import delete_group
from mloop.features.errors import FeatureGroupExists, FeatureGroupNotFound, IngestRejected, InvalidSpec
from mloop.features.groups import create_group, data_version, get_group, ingested_digests, list_groups
from mloop.features.ingest import IngestReport, ingest
from mloop.features.offline import build_training_set, extract
from mloop.features.online import get_online
from mloop.features.records import close_records, flush_records, put_records
from mloop.features.schema import Feature, FeatureGroup, FeatureGroupSpec, infer_spec, load_spec_file

__all__ = [
    "Feature",
    "FeatureGroup",
    "FeatureGroupExists",
    "FeatureGroupNotFound",
    "FeatureGroupSpec",
    "IngestRejected",
    "IngestReport",
    "InvalidSpec",
    "build_training_set",
    "close_records",
    "create_group",
    "data_version",
    "delete_group",
    "extract",
    "flush_records",
    "get_group",
    "get_online",
    "infer_spec",
    "ingest",
    "ingested_digests",
    "list_groups",
    "load_spec_file",
    "put_records",
]
