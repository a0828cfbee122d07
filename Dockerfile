# The project image every compiled Kubeflow task runs (`mloop step exec ...`).
# Built from this repository (mloop + examples); for your own project, COPY your project
# (mloop.toml + pipeline modules) instead and `pip install mloop` (see docs). Then:
#   docker build -t registry.example.com/my-project:1 .
#   mloop compile my-pipeline --target kfp --image registry.example.com/my-project:1 -o pipeline.yaml
# Tasks share state through the metadata database and artifact store: give the pods
# MLOOP_DATABASE_URL (postgresql+psycopg://...), MLOOP_ARTIFACT_ROOT (s3://...),
# MLOOP_TRACKING_URI (http://mlflow:5000) and S3 credentials, e.g. from a Kubernetes secret.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    MLOOP_WORKSPACE=/workspace
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 git \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/mloop
COPY pyproject.toml constraints.txt README.md ./
COPY src ./src
RUN pip install -c constraints.txt ".[postgres,s3,redis]"

# The project: mloop.toml + pipeline modules (importable from the workspace root).
WORKDIR /workspace
COPY . /workspace
RUN test -f mloop.toml || mloop init .

ENTRYPOINT []
CMD ["mloop", "--help"]
