"""The warm worker's server forks once per task, so what it has imported is paid on every fork."""

from __future__ import annotations

import subprocess
import sys


def test_the_warm_server_imports_only_what_it_needs() -> None:
    # what the server's command line imports (warm.py's WarmPool._start), before kfp
    code = ("import sys; from mloop.pipelines.kfp_frontend.warm import serve; "
            "print(sorted(m for m in sys.modules if m.startswith('mloop') or m.split('.')[0] in "
            "('pandas', 'numpy', 'sqlalchemy', 'pydantic', 'pyarrow', 'mlflow')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(["mloop", "mloop.lazy_exports", "mloop.pipelines", "mloop.pipelines.kfp_frontend",
                                      "mloop.pipelines.kfp_frontend.warm"])
