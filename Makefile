# Forgekeep: the two commands are `make demo` and `make test`.
# Every target installs what it needs, idempotently.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-16)

.PHONY: demo test install lint typecheck imports unit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/forgekeep demo

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy

imports: install
	$(BIN)/lint-imports

unit: install
	$(BIN)/pytest -q -p no:cacheprovider --cov --cov-branch --cov-report=term --cov-report=xml:build/coverage.xml

test: lint typecheck imports unit

bench: install
	$(BIN)/python bench/put_get.py

clean:
	rm -rf $(VENV) build .mypy_cache .ruff_cache .pytest_cache .coverage*
