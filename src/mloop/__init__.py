"""mloop: the whole MLOps loop on a laptop, scaling out by configuration.

The curated public API. Names load lazily (PEP 562) so `import mloop` and `mloop --help` stay
fast; `__all__` is pinned by a test.
"""

from __future__ import annotations

from typing import Any

from mloop.lazy_exports import lazy_exports

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


_load, __dir__ = lazy_exports("mloop", _EXPORTS, globals(), __all__)


def __getattr__(name: str) -> Any:
    return _load(name)
