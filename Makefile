# Two entry points: `make demo` runs Keel's main job on ./keel.db, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck layers unit clean

$(BIN)/keel: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(BIN)/keel

demo: $(BIN)/keel
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

lint: $(BIN)/keel
	$(BIN)/ruff check src tests alembic bench
	$(BIN)/ruff format --check src tests alembic bench

typecheck: $(BIN)/keel
	$(BIN)/mypy

layers: $(BIN)/keel
	$(BIN)/lint-imports

test: lint typecheck layers
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
