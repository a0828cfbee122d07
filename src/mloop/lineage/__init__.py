"""Lineage: the graph of pipelines, runs, artifacts, models and endpoints, and storage probes.

    from mloop import lineage
    lineage.pipeline(ws, "ad-click-ctr")       # seed 004's format
    lineage.model(ws, "ad-click-ctr", 3)        # run, data, feature groups, approvals, endpoints
    lineage.endpoint(ws, "ctr")                 # the chain behind each variant
    lineage.artifact(ws, digest)                # producer and consumers
    lineage.record_link(ws.db, source, target, "started")  # an arrow no run record implies
"""

from mloop.lineage import graph, storage, upstream
from mloop.lineage.graph import NOT_STARTED, RunNotFound, job_arn, pipeline, pipeline_arn
from mloop.lineage.links import model_uri, record_link
from mloop.lineage.storage import describe_location, probe_local_file, probe_s3_bucket
from mloop.lineage.upstream import artifact, endpoint, model


def clear_cache() -> None:
    """Forget cached probe results and answers (after changing a bucket's settings by hand)."""
    storage.clear_cache()
    graph.clear_answers()
    upstream.clear_upstream()


__all__ = [
    "NOT_STARTED", "RunNotFound", "artifact", "clear_cache", "describe_location", "endpoint", "job_arn",
    "model", "model_uri", "pipeline", "pipeline_arn", "probe_local_file", "probe_s3_bucket", "record_link",
]
