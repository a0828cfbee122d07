# The front door: `make demo` and `make test` work on a fresh machine with Python 3.11.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
RUN_STAMP := $(VENV)/.mloop-run
DEV_STAMP := $(VENV)/.mloop-dev
PYTEST_ARGS ?=
# Two workers on this project's 2-core machines; a file's tests stay on one worker, in order
# (module fixtures such as the dashboard's workspace are shared by a file's tests).
TEST_WORKERS ?= 2
DEMO_ARGS ?=

.PHONY: demo test lint cycles bench install dev clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# constraints.txt pins every transitive dependency: a fresh install is the tested install.
$(RUN_STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install -q -c constraints.txt -e .
	touch $@

$(DEV_STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install -q -c constraints.txt -e '.[dev]'
	touch $@ $(RUN_STAMP)

install: $(RUN_STAMP)
dev: $(DEV_STAMP)

demo: $(RUN_STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/mloop demo $(DEMO_ARGS)

# scripts/test-setup.sh starts PostgreSQL and Redis and installs Chromium when they are missing.
test: $(DEV_STAMP)
	bash scripts/test-setup.sh
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# lint-imports: the layer and table-ownership contracts in pyproject.toml (docs/architecture.md).
lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/mypy src/mloop
	$(BIN)/lint-imports
	$(BIN)/python scripts/import_cycles.py

# File-level import cycles, counting imports inside functions (zero; `make lint` fails on any).
cycles: $(DEV_STAMP)
	$(BIN)/python scripts/import_cycles.py

# Entry points only: feast_side.py and kserve_model.py are servers/helpers the benches start.
BENCHES ?= feature_store pipelines model serving lineage registry app

bench: $(DEV_STAMP)
	@set -e; for name in $(BENCHES); do \
		echo "== bench/$$name.py"; PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/$$name.py; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
