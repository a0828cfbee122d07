from tests.support.mlflow_fixtures import ml_workspace, mlflow_template  # noqa: F401
