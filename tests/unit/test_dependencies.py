"""Every third-party module the package imports is declared in pyproject.toml.

The development venv has more installed than a fresh `make demo` does: prometheus_client was
imported by serving but not declared, so `mloop serve` (and `make demo`) failed on a fresh clone.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Imported directly but part of a declared package's public API (fastapi is starlette; boto3 is botocore).
TRANSITIVE_BY_DESIGN = {"starlette": "fastapi", "botocore": "boto3"}


def _imported_modules() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "src" / "mloop").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m != "mloop"}


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        specs.extend(extra)
    names = {re.split(r"[\s\[<>=!~;]", spec, maxsplit=1)[0] for spec in specs}
    return {re.sub(r"[-_.]+", "-", n).lower() for n in names if n and n != "mloop"}


def test_every_imported_third_party_module_is_declared() -> None:
    dists = packages_distributions()
    declared = _declared()
    missing = []
    for module in sorted(_imported_modules()):
        if module in TRANSITIVE_BY_DESIGN:
            assert re.sub(r"[-_.]+", "-", TRANSITIVE_BY_DESIGN[module]) in declared
            continue
        owners = {re.sub(r"[-_.]+", "-", d).lower() for d in dists.get(module, [])}
        if not owners & declared:
            missing.append(f"{module} (from {sorted(owners) or 'not installed'})")
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"
