# `make serve` runs Keel's HTTP API on ./keel.db, `make test` runs every check; `make demo`
# walks through the use cases with the CLI.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: serve demo test lint typecheck layers unit clean

$(BIN)/keel: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(BIN)/keel

serve: $(BIN)/keel
	$(BIN)/keel serve --host $(HOST) --port $(PORT)

demo: $(BIN)/keel
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

lint: $(BIN)/keel
	$(BIN)/ruff check src tests alembic bench examples
	$(BIN)/ruff format --check src tests alembic bench examples

typecheck: $(BIN)/keel
	$(BIN)/mypy

layers: $(BIN)/keel
	$(BIN)/lint-imports

test: lint typecheck layers
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
