"""A real model server and a real inference app, started once per test module (`live`)."""

from tests.support.app_processes import live  # noqa: F401  (fixture)
