"""numpy values through `json_default` and `plain`; the small store modules import no heavy library."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from mloop.store.encoding import json_default, plain


def test_numpy_scalars_become_json_values() -> None:
    data = {"auc": np.float64(0.75), "rows": np.int64(3), "ok": np.bool_(True), "one": np.array([2.5])}
    assert json.loads(json.dumps(data, default=json_default)) == {"auc": 0.75, "rows": 3, "ok": True, "one": 2.5}


def test_what_json_cannot_encode_stays_an_error() -> None:
    with pytest.raises(TypeError, match="object is not JSON serializable"):
        json.dumps({"x": object()}, default=json_default)
    with pytest.raises(ValueError):  # an array has no single value: not silently a list
        json.dumps({"x": np.array([1, 2])}, default=json_default)


def test_plain_converts_numpy_scalars_only() -> None:
    assert type(plain(np.int64(2))) is int and plain(np.int64(2)) == 2
    assert type(plain(np.str_("a"))) is str

    class Tensor:
        def item(self) -> float:
            return 1.0

    t = Tensor()
    assert plain(t) is t and plain("x") == "x" and plain(None) is None


def test_the_small_store_modules_import_no_heavy_library() -> None:
    code = ("import sys, mloop.store.encoding, mloop.store.files, mloop.store.leases; "
            "print(sorted(m for m in ('numpy', 'pandas', 'sqlalchemy', 'pydantic') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
