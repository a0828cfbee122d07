import mloop


def test_public_api_is_pinned() -> None:
    assert sorted(mloop.__all__) == sorted(
        [
            "__version__", "MloopError", "Settings", "load_settings", "init_workspace",
            "Workspace", "open_workspace", "ArtifactStore",
            "step", "pipeline", "If", "Else", "run_pipeline", "current_context",
        ]
    )
    for name in mloop.__all__:
        assert getattr(mloop, name) is not None
