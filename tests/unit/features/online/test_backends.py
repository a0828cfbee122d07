"""The online store's one table of backends: every scheme resolves; an unknown one is a ConfigError."""

from __future__ import annotations

import importlib

import pytest

from mloop.errors import ConfigError
from mloop.features.online import SCHEMES, open_online_store


def test_every_scheme_names_an_importable_backend() -> None:
    for scheme, target in SCHEMES.items():
        module, cls = target.split(":")
        assert module.startswith("mloop.features.online."), scheme  # backends live in the package
        assert callable(getattr(importlib.import_module(module), cls)), scheme


def test_an_unknown_scheme_names_itself_and_the_valid_forms() -> None:
    with pytest.raises(ConfigError, match="unknown scheme 'dynamodb'") as info:
        open_online_store("dynamodb://table")
    assert "redis://" in (info.value.hint or "")
