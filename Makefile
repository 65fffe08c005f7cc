# The commands the README opens with. `make setup` is what every target uses.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# One worker per core; worksteal keeps the long end-to-end tests from finishing last.
PYTEST_ARGS ?= -n auto --dist worksteal --durations=25
export PYTHON VENV

.PHONY: setup test-deps demo test lint typecheck pytest bench clean

setup: $(VENV)/.setup-done

$(VENV)/.setup-done: pyproject.toml scripts/setup.sh
	scripts/setup.sh
	touch $@

test-deps:
	scripts/setup.sh --test

demo: setup
	$(BIN)/packseal --config config.yaml demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

pytest: setup test-deps
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

bench: setup
	$(BIN)/python -m bench $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache demo-data
