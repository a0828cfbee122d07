"""A folder whose writes the OS refuses, for tests of read-only stores."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest


class ReadOnly:
    """A folder whose writes the OS refuses: chmod for a normal user, a read-only tmpfs for root
    (root ignores file modes)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.mounted = False
        path.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(path)],
                                  capture_output=True, check=False)
            if done.returncode != 0:
                pytest.skip("running as root without the right to mount a tmpfs")
            self.mounted = True

    def lock(self) -> None:
        if self.mounted:
            subprocess.run(["mount", "-o", "remount,ro", str(self.path)], check=True)
        else:
            for p in [self.path, *self.path.rglob("*")]:
                if p.is_dir():
                    p.chmod(0o555)

    def unlock(self) -> None:
        if self.mounted:
            subprocess.run(["mount", "-o", "remount,rw", str(self.path)], check=True)
        else:
            for p in [self.path, *self.path.rglob("*")]:
                if p.is_dir():
                    p.chmod(0o755)

    def close(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], check=False)
        else:
            self.unlock()
