"""Nothing above a waist looks at a URL scheme or reaches into a store's backend.

Backends are chosen once, by scheme, inside the store that owns them (`store/`, the online
store's backends in `features/online/`, the MLflow adapter in `tracking/`); everyone else asks
the store what it can do (`ArtifactStore.is_shared`, `local_path`, `read_path`, `attach_duckdb`,
`storage_options`; the online store's `TakesRuns` / `SpoolsRecords` protocols). A scan of the
source fails on a scheme test or a `.backend` / `.fs` access anywhere else.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "mloop"
SCHEMES = ("s3://", "sqlite", "redis")
# Where schemes and backends are the subject: the stores and the adapters.
ADAPTERS = (
    "store/",
    "features/online/",  # the online store and its SQLite/Redis backends
    "tracking/",  # the one place that talks to MLflow (its SQLite store needs a folder first)
    "lineage/storage.py",  # the storage security probe describes an S3 bucket or a local file by its URI
)


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "startswith" and node.args):
            arg = node.args[0]
            texts = [arg.value] if isinstance(arg, ast.Constant) else (
                [e.value for e in arg.elts if isinstance(e, ast.Constant)] if isinstance(arg, ast.Tuple) else [])
            for text in texts:
                if isinstance(text, str) and text.startswith(SCHEMES):
                    found.append(f"l.{node.lineno}: startswith({text!r})")
        if isinstance(node, ast.Attribute) and node.attr in ("backend", "fs"):
            found.append(f"l.{node.lineno}: .{node.attr}")
    return found


def test_no_scheme_tests_or_backend_access_above_the_waists() -> None:
    problems = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith(ADAPTERS):
            continue
        problems += [f"{rel} {v}" for v in _violations(path)]
    assert not problems, "ask the store instead (see this test's docstring):\n" + "\n".join(problems)


def test_the_scan_sees_what_it_forbids(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('if url.startswith("s3://"): pass\nx = ws.artifacts.fs\nok = name.startswith("ad-")\n')
    assert _violations(sample) == ["l.1: startswith('s3://')", "l.2: .fs"]
