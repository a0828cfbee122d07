"""mloop: the whole MLOps loop on a laptop, scaling out by configuration.

The curated public API. Names load lazily (PEP 562) so `import mloop` and `mloop --help` stay
fast; `__all__` is pinned by a test.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "MloopError": "mloop.errors",
    "Settings": "mloop.config",
    "load_settings": "mloop.config",
    "init_workspace": "mloop.config",
    "Workspace": "mloop.store",
    "open_workspace": "mloop.store",
    "ArtifactStore": "mloop.store",
    "step": "mloop.pipelines",
    "pipeline": "mloop.pipelines",
    "If": "mloop.pipelines",
    "Else": "mloop.pipelines",
    "run_pipeline": "mloop.pipelines",
    "current_context": "mloop.pipelines",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mloop' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
