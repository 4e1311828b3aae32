# Shua: `make demo` to run it, `make test` to test it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV     := $(BIN)/uv
UV_VERSION := 0.13.8

.PHONY: demo test test-sqlite test-postgres install install-dev lint typecheck bench lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.runtime: $(BIN)/python requirements.lock pyproject.toml
	$(UV) pip install --quiet --python $(BIN)/python -r requirements.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.lock
	$(UV) pip install --quiet --python $(BIN)/python -r requirements-dev.lock
	touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

## demo: install, migrate, seed demo users and serve on http://127.0.0.1:8000
demo: install
	$(BIN)/shua demo --serve

## test: the whole suite on SQLite, then on PostgreSQL when SHUA_TEST_POSTGRES_URL is set
test: install-dev
	$(BIN)/pytest -q -p no:cacheprovider
	@if [ -n "$$SHUA_TEST_POSTGRES_URL" ]; then \
		echo "== again on PostgreSQL =="; \
		SHUA_TEST_BACKEND=postgres $(BIN)/pytest -q -p no:cacheprovider; \
	else echo "(SHUA_TEST_POSTGRES_URL not set: PostgreSQL run skipped)"; fi

test-sqlite: install-dev
	$(BIN)/pytest -q

test-postgres: install-dev
	SHUA_TEST_BACKEND=postgres $(BIN)/pytest -q

lint: install-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

bench: install-dev
	$(BIN)/python bench/api.py

## lock: re-resolve pinned dependencies after editing pyproject.toml
lock: $(BIN)/python
	$(UV) pip compile pyproject.toml --python-version 3.11 -q -o requirements.lock
	$(UV) pip compile pyproject.toml --extra dev --python-version 3.11 -q -o requirements-dev.lock

clean:
	rm -rf $(VENV) var .pytest_cache
