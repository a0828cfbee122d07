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


def _every_error_class() -> list[type[MloopError]]:
    """Every MloopError subclass mloop defines, after importing every module of the package."""
    import importlib
    import pkgutil

    import mloop

    for info in pkgutil.walk_packages(mloop.__path__, "mloop."):
        if ".migrations." in info.name or info.name.endswith(".__main__"):
            continue
        try:
            importlib.import_module(info.name)
        except ImportError:  # an optional extra (kfp, s3fs...) absent here: its errors are not walked
            continue
    found: list[type[MloopError]] = []
    todo: list[type[MloopError]] = [MloopError]
    while todo:
        cls = todo.pop()
        if cls.__module__.startswith("mloop.") and cls not in found:
            found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_every_error_has_its_own_code_a_4xx_or_5xx_status_and_a_hint_or_docstring() -> None:
    classes = _every_error_class()
    assert len(classes) > 40  # the walk saw the whole tree, not only this module's classes
    problems = []
    owners: dict[str, str] = {}
    for cls in classes:
        name = f"{cls.__module__}.{cls.__qualname__}"
        if "code" not in vars(cls):
            problems.append(f"{name} inherits its code '{cls.code}' (one code must mean one failure)")
        elif cls.code in owners:
            problems.append(f"{name} and {owners[cls.code]} share the code '{cls.code}'")
        owners.setdefault(cls.code, name)
        if not 400 <= cls.http_status < 600:
            problems.append(f"{name} has HTTP status {cls.http_status}")
        if not (cls.hint or (vars(cls).get("__doc__") or "").strip()):
            problems.append(f"{name} has neither a hint nor a docstring saying when it is raised")
    assert not problems, "\n".join(problems)


def test_a_failure_has_one_status_and_body_on_every_server() -> None:
    from mloop.http_errors import status_and_body
    from mloop.serving.errors import ModelNotServed

    assert status_and_body(ModelNotServed("model 'x' is not served here", hint="serve 'y'")) == (
        404, {"code": "model_not_served", "message": "model 'x' is not served here", "hint": "serve 'y'"})
    odd = MloopError("odd")
    odd.http_status = 302  # a status outside 4xx/5xx is never sent as a failure
    assert status_and_body(odd)[0] == 500
