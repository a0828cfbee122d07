"""Third-party exceptions become MloopErrors by type, at the adapter that called the library."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from mloop.error_map import ExceptionTable, map_exceptions
from mloop.errors import InvalidInput, MloopError, NotFound, StoreUnavailable


def _bad_value(exc: BaseException, c: Mapping[str, Any]) -> MloopError:
    return InvalidInput(f"{c['what']}: {exc}")


def _only_gone(exc: BaseException, _c: Mapping[str, Any]) -> MloopError | None:
    return NotFound("gone") if "gone" in exc.args else None


TABLE = ExceptionTable("test", [
    ("no_such_library.errors:Boom", _bad_value),  # an optional library that is not installed: skipped
    (LookupError, _only_gone),
    (ValueError, _bad_value),
])


def test_a_matching_type_becomes_the_tables_error_with_the_original_as_cause() -> None:
    with pytest.raises(InvalidInput) as info, map_exceptions(TABLE, what="age"):
        int("forty")
    assert info.value.message.startswith("age: invalid literal")
    assert isinstance(info.value.__cause__, ValueError)


def test_unmatched_exceptions_and_mloops_own_pass_through_unchanged() -> None:
    with pytest.raises(ZeroDivisionError), map_exceptions(TABLE, what="x"):
        _ = 1 / 0
    with pytest.raises(KeyError), map_exceptions(TABLE, what="x"):  # the rule declined: not "gone"
        raise KeyError("other")
    with pytest.raises(NotFound), map_exceptions(TABLE, what="x"):
        raise KeyError("gone")
    own = StoreUnavailable("down")
    with pytest.raises(StoreUnavailable) as info, map_exceptions(TABLE, what="x"):
        raise own
    assert info.value is own


def test_causes_are_followed_only_when_the_table_says_libraries_wrap_each_other() -> None:
    def wrapped() -> None:
        try:
            int("x")
        except ValueError as exc:
            raise RuntimeError("wrapper") from exc

    with pytest.raises(RuntimeError), map_exceptions(TABLE, what="x"):
        wrapped()
    following = ExceptionTable("wrapping", [(ValueError, _bad_value)], follow_causes=True)
    with pytest.raises(InvalidInput), map_exceptions(following, what="x"):
        wrapped()


def test_it_decorates_a_function_too() -> None:
    @map_exceptions(TABLE, what="n")
    def parse(text: str) -> int:
        return int(text)

    assert parse("3") == 3
    with pytest.raises(InvalidInput):
        parse("three")


def test_an_unreachable_redis_online_store_is_store_unavailable_by_the_clients_type() -> None:
    from mloop.features.online import open_online_store

    store = open_online_store("redis://127.0.0.1:1/0")  # nothing listens on port 1
    with pytest.raises(StoreUnavailable) as info:
        store.get("g", ["1"])
    assert "cannot reach the Redis online store" in info.value.message
    assert type(info.value.__cause__).__module__.startswith("redis")


def test_mlflow_errors_map_by_their_error_code() -> None:
    from mlflow.exceptions import MlflowException
    from mlflow.protos import databricks_pb2 as codes

    from mloop.tracking.errors import TrackingNotFound, TrackingUnavailable, translate

    missing = translate(MlflowException("Run 'x' not found", error_code=codes.RESOURCE_DOES_NOT_EXIST), "u")
    assert isinstance(missing, TrackingNotFound) and missing.message == "Run 'x' not found"
    # "not found" or "timed out" in a message of another code mean nothing: the code decides
    other = translate(MlflowException("timed out: not found", error_code=codes.INTERNAL_ERROR), "u")
    assert type(other).__name__ == "TrackingError"
    down = translate(MlflowException("db", error_code=codes.TEMPORARILY_UNAVAILABLE), "u")
    assert isinstance(down, TrackingUnavailable)
    assert isinstance(translate(MlflowException("bad", error_code=codes.INVALID_PARAMETER_VALUE), "u"), InvalidInput)


def test_an_unparseable_database_url_is_never_echoed() -> None:
    from mloop.store.database import _redact

    secret = "postgresql+psycopg://admin:hunter2@[::1"  # an unclosed IPv6 bracket: the parser gives up
    shown = _redact(secret)
    assert "hunter2" not in shown and "admin" not in shown
    assert _redact("postgresql+psycopg://admin:hunter2@db:5432/mloop") == "postgresql+psycopg://admin:***@db:5432/mloop"
