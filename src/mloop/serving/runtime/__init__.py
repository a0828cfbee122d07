"""The live runtime of a server process: what it serves right now and how that changes.

| module | what it is |
|---|---|
| `live` | `LiveEndpoint`: the immutable `Deployment` requests read, the watcher thread, hot swap |
| `served_model` | `ServedModel`: a loaded model version as the server calls it |
| `model_cache` | downloading, verifying and caching model versions (`workspace_loader`) |
| `guardrails` | each variant's sliding window of outcomes and the limits it is judged by |
| `canary_rollback` | rolling back a canary whose window breaks its limits, with an alert |
| `shadow_tap` | feeding shadow variants copies of answered requests, off the caller's path |

Left empty on purpose: modules import each other's concrete modules.
"""
