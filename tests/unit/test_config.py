from pathlib import Path

import pytest

from mloop.config import init_workspace, load_settings
from mloop.errors import ConfigError, WorkspaceNotFound


def test_precedence_default_file_env_argument(workspace_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (workspace_dir / "mloop.toml").write_text('log_level = "WARNING"\nartifact_root = "from-file"\n')
    monkeypatch.setenv("MLOOP_LOG_LEVEL", "ERROR")
    loaded = load_settings(workspace_dir, artifact_root="s3://b/p")
    assert loaded.settings.log_level == "ERROR"
    assert loaded.sources["log_level"] == "env MLOOP_LOG_LEVEL"
    assert loaded.settings.artifact_root == "s3://b/p"
    assert loaded.sources["artifact_root"] == "argument"
    assert loaded.settings.online_store_url.startswith("sqlite:///" + str(workspace_dir))
    assert "online_store_url" not in loaded.sources


def test_file_value_beats_default_and_sections_nest(workspace_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (workspace_dir / "mloop.toml").write_text("[registry]\nrequire_distinct_approver = true\n")
    monkeypatch.setenv("MLOOP_REGISTRY__REQUIRE_COMMENT", "false")
    settings = load_settings(workspace_dir).settings
    assert settings.registry.require_distinct_approver is True
    assert settings.registry.require_comment is False


def test_relative_paths_resolve_against_the_workspace(workspace_dir: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(workspace_dir).settings
    assert settings.database_url == f"sqlite:///{workspace_dir}/.mloop/mloop.db"
    assert settings.artifact_root == str(workspace_dir / ".mloop" / "artifacts")


def test_misspelled_key_names_file_key_and_suggestion(workspace_dir: Path) -> None:
    (workspace_dir / "mloop.toml").write_text('databse_url = "sqlite:///x.db"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(workspace_dir)
    assert "mloop.toml" in err.value.message and "databse_url" in err.value.message
    assert "database_url" in (err.value.hint or "")


def test_unknown_section_key_and_unknown_env(workspace_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (workspace_dir / "mloop.toml").write_text("[registry]\nrequire_coment = true\n")
    with pytest.raises(ConfigError, match=r"registry\.require_coment"):
        load_settings(workspace_dir)
    (workspace_dir / "mloop.toml").write_text("")
    monkeypatch.setenv("MLOOP_TRACKING_URL", "x")
    with pytest.raises(ConfigError, match="MLOOP_TRACKING_URL") as err:
        load_settings(workspace_dir)
    assert "tracking_uri" in (err.value.hint or "")


def test_test_suite_overrides_are_not_settings(workspace_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # README tells users to export these for `make test`; every mloop command must still work.
    monkeypatch.setenv("MLOOP_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    monkeypatch.setenv("MLOOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    assert load_settings(workspace_dir).settings.database_url.startswith("sqlite:///")


def test_bad_value_names_source_and_choices(workspace_dir: Path) -> None:
    (workspace_dir / "mloop.toml").write_text('log_level = "LOUD"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(workspace_dir)
    assert "mloop.toml" in err.value.message and "log_level" in err.value.message
    assert "DEBUG" in err.value.message


def test_invalid_toml_is_a_config_error(workspace_dir: Path) -> None:
    (workspace_dir / "mloop.toml").write_text("log_level = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(workspace_dir)


def test_workspace_is_found_from_a_subdirectory_or_not_at_all(workspace_dir: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    sub = workspace_dir / "src" / "deep"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    assert load_settings().root == workspace_dir
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    monkeypatch.chdir(outside)
    with pytest.raises(WorkspaceNotFound):
        load_settings()


def test_init_is_idempotent_and_never_overwrites(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    created = init_workspace(root)
    assert {p.name for p in created} == {"mloop.toml", ".mloop"}
    (root / "mloop.toml").write_text('log_level = "DEBUG"\n')
    assert init_workspace(root) == []
    assert (root / "mloop.toml").read_text() == 'log_level = "DEBUG"\n'


def test_init_on_a_file_or_a_clashing_path_is_a_config_error(tmp_path: Path) -> None:
    # These were "unexpected error: FileExistsError / NotADirectoryError" (or a silent half workspace).
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    with pytest.raises(ConfigError, match="it is a file, not a directory"):
        init_workspace(a_file)
    with pytest.raises(ConfigError, match=r"cannot create a workspace in .*Not a directory"):
        init_workspace(a_file / "sub")
    (tmp_path / "a" / "mloop.toml").mkdir(parents=True)
    with pytest.raises(ConfigError, match=r"mloop\.toml exists but is not a file"):
        init_workspace(tmp_path / "a")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / ".mloop").write_text("")
    with pytest.raises(ConfigError, match=r"\.mloop exists but is not a directory"):
        init_workspace(tmp_path / "b")
    assert not (tmp_path / "b" / "mloop.toml").exists()  # nothing half-made


def test_a_bad_nested_value_names_its_variable(workspace_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The error said "default: invalid value for 'auth.tokens.t.role'" although MLOOP_AUTH__TOKENS set it.
    monkeypatch.setenv("MLOOP_AUTH__TOKENS", '{"t": {"principal": "a", "role": "superuser"}}')
    with pytest.raises(ConfigError) as err:
        load_settings(workspace_dir)
    assert err.value.message.startswith("env MLOOP_AUTH__TOKENS: invalid value for 'auth.tokens.t.role'")


def test_tokens_are_never_shown(workspace_dir: Path) -> None:
    (workspace_dir / "mloop.toml").write_text(
        '[auth.tokens]\nsecret-token-123 = { principal = "ana", role = "approver" }\n'
    )
    loaded = load_settings(workspace_dir)
    assert loaded.settings.auth.tokens["secret-token-123"].role == "approver"
    assert "secret-token-123" not in repr(loaded.rows())


def test_seed_002_environment_names_set_the_app(workspace_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A container configured for SageMaker (seed 002) runs unchanged; MLOOP_APP__* still wins."""
    monkeypatch.setenv("SAGEMAKER_ENDPOINT_NAME", "my-mlops-prod-endpoint")
    monkeypatch.setenv("MODEL_PACKAGE_GROUP", "my-mlops-prod-pkg")
    monkeypatch.setenv("USER_INTERACTION_FG_NAME", "my-mlops-user-interactions-v1")
    loaded = load_settings(workspace_dir)
    app = loaded.settings.app
    assert (app.endpoint, app.model_name, app.interactions_group) == (
        "my-mlops-prod-endpoint", "my-mlops-prod-pkg", "my-mlops-user-interactions-v1")
    assert loaded.sources["app.endpoint"] == "env SAGEMAKER_ENDPOINT_NAME"
    monkeypatch.setenv("MLOOP_APP__ENDPOINT", "http://127.0.0.1:9000")
    assert load_settings(workspace_dir).settings.app.endpoint == "http://127.0.0.1:9000"
