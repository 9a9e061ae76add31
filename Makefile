# Forgekeep: the two commands are `make demo` and `make test`.
# Every target installs what it needs, idempotently.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-16)
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test install system-deps lint typecheck imports unit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# Go's sumdb/note and sumdb/tlog (Debian) verify our ledger formats independently.
# PostgreSQL: the tests use the server at 127.0.0.1:5432 when there is one, and
# otherwise start a private cluster with initdb on a free loopback port; fault
# tests (restarts) always use a private one. So initdb must be installed.
GO_MOD_SRC := /usr/share/gocode/src/golang.org/x/mod/sumdb/tlog
APT_NEEDS := $(shell command -v go >/dev/null && [ -d $(GO_MOD_SRC) ] || echo golang-go golang-golang-x-mod-dev) \
             $(shell ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || echo postgresql)
system-deps:
	@if [ -n "$(strip $(APT_NEEDS))" ]; then \
	  echo "installing $(strip $(APT_NEEDS)) (apt)"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_NEEDS); \
	fi

demo: install
	$(BIN)/forgekeep demo

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: install
	$(BIN)/mypy

imports: install
	$(BIN)/lint-imports

unit: install system-deps
	$(BIN)/pytest -q -p no:cacheprovider --cov --cov-branch --cov-report=term --cov-report=xml:build/coverage.xml

test: lint typecheck imports unit

bench: install
	$(BIN)/python bench/put_get.py
	$(BIN)/python bench/startup.py

clean:
	rm -rf $(VENV) build .mypy_cache .ruff_cache .pytest_cache .coverage*
