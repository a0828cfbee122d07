"""A separate approver process for the concurrency test: waits for a start signal, then acts.

Usage: python approver_proc.py ROOT PRINCIPAL GO_FILE VERSIONS(comma) CONTESTED
Prints one JSON line: {"done": [...], "contested": "ok" | error code}.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main() -> None:
    root, principal, go_file, versions, contested = sys.argv[1:6]
    from mloop import registry
    from mloop.errors import MloopError
    from mloop.store import open_workspace

    ws = open_workspace(root)
    ws.db  # noqa: B018 - open (and migrate) before the race starts
    from mloop.tracking import configure

    configure(ws)
    open(os.path.join(os.path.dirname(go_file), f"ready-{principal}"), "w").close()
    deadline = time.monotonic() + 60
    while not os.path.exists(go_file) and time.monotonic() < deadline:  # the start line
        time.sleep(0.005)
    done = []
    for version in versions.split(","):
        registry.approve(ws, "ctr", int(version), principal=principal, comment=f"by {principal}")
        done.append(int(version))
    try:
        registry.reject(ws, "ctr", int(contested), principal=principal, comment="contested")
        outcome = "ok"
    except MloopError as exc:
        outcome = exc.code
    print(json.dumps({"done": done, "contested": outcome}))


if __name__ == "__main__":
    main()
