"""Package exports that import their module on first use.

`mloop`, `mloop.pipelines`, `mloop.store` and the KFP front end export names whose modules pull in
SQLAlchemy, pandas or pydantic; importing the package must not (`mloop --help` starts in well
under a second, and the KFP warm worker forks every task from a lean interpreter). Each package
declares `name -> module` once and gets its module-level `__getattr__` and `__dir__` from here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, exports: dict[str, str], namespace: dict[str, Any],
                 extra: list[str] | None = None) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """(`__getattr__`, `__dir__`) for `package`, loading `exports[name]` once and caching it in `namespace`."""
    listed = sorted({*exports, *(extra or [])})

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module '{package}' has no attribute '{name}'")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return listed

    return __getattr__, __dir__
