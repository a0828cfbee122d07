"""numpy values in JSON and in plain-Python comparisons, without importing numpy.

Metrics, parameters and labels computed with numpy, pandas or scikit-learn arrive as numpy
scalars (`numpy.float64`, `numpy.int64`, `numpy.bool_`), which `json` rejects and which hash
apart from the Python values they equal in some containers. Recognising them by their type's
module keeps numpy out of the import path of everything that only might meet one.
"""

from __future__ import annotations

from typing import Any


def _from_numpy(value: Any) -> bool:
    return type(value).__module__.split(".", 1)[0] == "numpy" and hasattr(value, "item")


def plain(value: Any) -> Any:
    """A numpy scalar (or one-element array) as its Python value; anything else unchanged."""
    return value.item() if _from_numpy(value) else value


def json_default(value: Any) -> Any:
    """`json.dumps(..., default=json_default)`: a numpy scalar becomes its Python value.

    Raises:
        TypeError: `value` is not from numpy (json's own error for what it cannot encode).
        ValueError: a numpy array of more than one element (it has no single value).
    """
    if _from_numpy(value):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
