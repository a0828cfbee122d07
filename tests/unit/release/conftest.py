from tests.support.release_repo import git_env, release_ws, repo  # noqa: F401  (fixtures)
