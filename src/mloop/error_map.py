"""Third-party exceptions become `MloopError`s here, by exception TYPE, at each adapter's boundary.

Each adapter (S3 artifacts, the SQL database, the Redis online store, MLflow tracking) declares one
`ExceptionTable`: ordered rules, each naming exception types and a function that builds the
`MloopError` (or returns None: "not this rule"). Matching by type and by the error codes a library
puts in its exceptions as data (S3's `Error.Code`, PostgreSQL's SQLSTATE, SQLite's result code,
MLflow's `error_code`) never breaks when a library rewords a message, and it cannot misread a
user's value quoted in one (a group named "timeout" is not a network failure).

Types are named by import path ("botocore.exceptions:ClientError") and resolved on the first
translation, so declaring a table imports nothing: the CLI stays fast and optional extras stay
optional (a rule whose library is not installed never matches). Like httpx's `_exceptions.py`
mapping, the original exception is kept as `__cause__`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ContextDecorator
from types import TracebackType
from typing import Any, Literal

from mloop.errors import MloopError

Translate = Callable[[BaseException, Mapping[str, Any]], MloopError | None]
TypeRef = type[BaseException] | str


class ExceptionTable:
    """One adapter's rules: (exception types, translate) pairs, tried in order.

    Rules are tried in order; the first translation wins. With `follow_causes`, each rule is tried
    on the exception and then on its causes, for libraries that wrap each other (s3fs raises
    `PermissionError` from botocore's `ClientError`, MLflow raises `MlflowException` while
    handling requests' `ConnectionError`); without it only the exception itself is looked at (a
    database error is the driver's own). An exception no rule translates propagates unchanged.
    """

    def __init__(self, name: str, rules: Sequence[tuple[TypeRef | tuple[TypeRef, ...], Translate]],
                 *, follow_causes: bool = False) -> None:
        self.name = name
        self.follow_causes = follow_causes
        self._rules = [(refs if isinstance(refs, tuple) else (refs,), fn) for refs, fn in rules]
        self._resolved: list[tuple[tuple[type[BaseException], ...], Translate]] | None = None

    def _types(self) -> list[tuple[tuple[type[BaseException], ...], Translate]]:
        if self._resolved is None:
            self._resolved = [(tuple(t for t in map(_resolve, refs) if t is not None), fn)
                              for refs, fn in self._rules]
        return self._resolved

    def translate(self, exc: BaseException, **context: Any) -> MloopError | None:
        """The `MloopError` for `exc` (context: what the adapter was doing), or None."""
        chain = list(causes(exc)) if self.follow_causes else [exc]
        for types, fn in self._types():
            if not types:
                continue
            for link in chain:
                if isinstance(link, types):
                    mapped = fn(link, context)
                    if mapped is not None:
                        return mapped
        return None


class map_exceptions(ContextDecorator):  # lower case: used like contextlib's context managers
    """Translate what `table` knows, raised in the block, into an `MloopError` (`raise ... from`).

    Use as `with map_exceptions(S3_ERRORS, url=url):` or as a decorator. mloop's own errors and
    exceptions no rule matches propagate unchanged. A class, not a generator: it wraps every
    online-store read and database transaction, so entering it costs well under a microsecond.
    """

    def __init__(self, table: ExceptionTable, **context: Any) -> None:
        self.table = table
        self.context = context

    def __enter__(self) -> None:
        return None

    def __exit__(self, _type: type[BaseException] | None, exc: BaseException | None,
                 _tb: TracebackType | None) -> Literal[False]:
        if exc is None or isinstance(exc, MloopError) or not isinstance(exc, Exception):
            return False  # nothing raised, mloop's own, or KeyboardInterrupt/SystemExit: unchanged
        mapped = self.table.translate(exc, **self.context)
        if mapped is None:
            return False
        raise mapped from exc


def causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, then its cause (or context), and so on; each once."""
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        yield link
        link = link.__cause__ or link.__context__


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The first line of `exc`'s text, cut to `limit` characters (driver errors run long)."""
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:limit]


def _resolve(ref: TypeRef) -> type[BaseException] | None:
    if not isinstance(ref, str):
        return ref
    module, _, name = ref.partition(":")
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):  # the optional library is absent: the rule never matches
        return None
    return found if isinstance(found, type) and issubclass(found, BaseException) else None
