from mloop.errors import ConfigError, MloopError, NotFound, did_you_mean


def test_errors_carry_code_status_and_hint() -> None:
    err = NotFound("model 'x' not found", hint="known: a, b")
    assert isinstance(err, MloopError)
    assert err.to_dict() == {"code": "not_found", "message": "model 'x' not found", "hint": "known: a, b"}
    assert err.http_status == 404
    assert ConfigError("bad").to_dict() == {"code": "config_error", "message": "bad"}


def test_did_you_mean_suggests_the_closest_choice() -> None:
    assert did_you_mean("ad-click", ["ad-clicks", "interactions"]).startswith("did you mean 'ad-clicks'?")
    assert did_you_mean("zzz", ["a"]) == "known: a"
    assert did_you_mean("zzz", []) == "known: (none)"
