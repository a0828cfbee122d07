"""Which endpoint the app calls: a URL as given, a name through serving's announcements."""

from __future__ import annotations

from typing import Any

import pytest

from mloop.errors import ConfigError, NotFound
from mloop.web.inference.resolve import resolve_endpoint


def test_url_is_used_as_given(workspace: Any) -> None:
    assert resolve_endpoint(workspace, "http://127.0.0.1:9000/", "ctr") == ("http://127.0.0.1:9000", "ctr")


def test_no_endpoint_names_the_option_and_setting(workspace: Any) -> None:
    with pytest.raises(ConfigError, match="needs an endpoint") as err:
        resolve_endpoint(workspace, None, None)
    assert "MLOOP_APP__ENDPOINT" in (err.value.hint or "")


def test_unknown_endpoint_name_is_404_with_choices(workspace: Any) -> None:
    with pytest.raises(NotFound, match="does not exist") as err:
        resolve_endpoint(workspace, "ad-clik", None)
    assert "known: (none)" in (err.value.hint or "") and "--endpoint http://" in (err.value.hint or "")
