"""SQL text shared by the offline store's DuckDB queries and the online row encoder."""

from __future__ import annotations


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'
