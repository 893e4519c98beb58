# Lotse: `make run` serves the Hagen demo, `make test` runs every test on SQLite and PostgreSQL.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Reinstall whenever the dependencies change: serving needs the package alone (`make run` is
# quick on a fresh clone), the tests and the linters need its `dev` extra besides.
DEPS := $(shell cat pyproject.toml | sha1sum | cut -c1-12)
SERVING := $(VENV)/.serving-$(DEPS)
INSTALLED := $(VENV)/.installed-$(DEPS)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help install install-serving run serve test test-setup test-sqlite test-postgresql lint fmt messages bench bench-http clean

help:
	@echo "make run    - set up, migrate, seed the Hagen demo (SQLite) and serve http://$(HOST):$(PORT)"
	@echo "make test   - install what the tests need (Chromium, PostgreSQL, ...), lint, then every test"
	@echo "             on SQLite and on PostgreSQL, browser tests included"
	@echo "make lint   - ruff, mypy, the import check and the catalog check;  make fmt - format the code"
	@echo "make messages - extract translatable strings and update the catalogs"
	@echo "make bench  - run the benchmarks in bench/ (not part of make test)"
	@echo "make bench-http - only the HTTP load test of the search API"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit("Lotse needs Python 3.11 or newer, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(SERVING): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@rm -f $(VENV)/.serving-*
	@touch $@

$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-* $(VENV)/.serving-*
	@touch $@ $(SERVING)

install: $(INSTALLED)

install-serving: $(SERVING)

run: install-serving
	$(BIN)/lotse db upgrade
	LOTSE_ENVIRONMENT=$${LOTSE_ENVIRONMENT:-demo} $(BIN)/lotse seed
	LOTSE_ENVIRONMENT=$${LOTSE_ENVIRONMENT:-demo} $(BIN)/lotse serve --host $(HOST) --port $(PORT)

serve: install-serving
	$(BIN)/lotse serve --host $(HOST) --port $(PORT)

test: test-setup lint test-sqlite test-postgresql
	@echo "All tests passed on SQLite and PostgreSQL."

# Installs (with sudo when not root) and starts what the suite needs: Chromium, fonts, PostgreSQL
# and its test role, nginx, Node packages of the test servers. Only checks on a prepared machine.
test-setup:
	@bash scripts/test-setup.sh

test-sqlite: test-setup install
	LOTSE_TEST_DB=sqlite $(BIN)/python -m pytest -p no:cacheprovider --ignore=tests/e2e --junitxml=test-artifacts/sqlite.xml
	$(BIN)/python tests/check_run.py test-artifacts/sqlite.xml

test-postgresql: test-setup install
	LOTSE_TEST_DB=postgresql $(BIN)/python -m pytest -p no:cacheprovider --junitxml=test-artifacts/postgresql.xml
	$(BIN)/python tests/check_run.py test-artifacts/postgresql.xml --browser

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python tests/check_imports.py
	$(BIN)/python tests/check_catalogs.py

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

messages: install
	$(BIN)/pybabel extract -F lotse/babel.cfg -k N_ -k _ -o lotse/locale/messages.pot --no-location --sort-output --project Lotse .
	$(BIN)/pybabel update -i lotse/locale/messages.pot -d lotse/locale --no-fuzzy-matching --ignore-obsolete

bench: install
	$(BIN)/python -m bench.run

bench-http: install
	$(BIN)/python -m bench.run --http-only

clean:
	rm -rf $(VENV) test-artifacts lotse.db lotse.db-wal lotse.db-shm
