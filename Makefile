# apkd: two commands for a newcomer: `make run` and `make test`. `make help` lists every target.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL ?= $(APKD_TEST_POSTGRES_URL)
# pytest-xdist workers (each has its own SQLite file / PostgreSQL database; worksteal: an idle worker takes
# queued tests from a busy one, so the long browser and two-process tests do not leave one core idle); XDIST= runs serially.
XDIST ?= -n 2 --dist worksteal

.DEFAULT_GOAL := help
.PHONY: help run install lock test test-sqlite test-postgres lint format bench migrate demo serve clean

help: ## list every target
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-14s %s\n", $$1, $$2}'

# The versions the tests ran with (requirements-dev.lock), then apkd itself without resolving again.
$(STAMP): pyproject.toml requirements.lock requirements-dev.lock
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -q --upgrade pip
	@$(BIN)/pip install -q -r requirements-dev.lock
	@$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install apkd with the locked versions of what tests need

LOCK_FLAGS := -q --strip-extras --no-emit-index-url --no-emit-find-links --annotation-style=line
lock: install ## re-pin requirements.lock and requirements-dev.lock from pyproject.toml (commit both)
	@$(BIN)/pip install -q pip-tools
	@$(BIN)/pip-compile $(LOCK_FLAGS) -o requirements.lock pyproject.toml
	@$(BIN)/pip-compile $(LOCK_FLAGS) --extra dev -o requirements-dev.lock pyproject.toml

migrate: install ## apply migrations to the configured database (default var/apkd.db)
	@$(BIN)/apkd db upgrade

demo: migrate ## import exam_banks/ and seed the demo data (idempotent)
	@$(BIN)/apkd bank import exam_banks
	@$(BIN)/apkd demo

run: demo ## from a fresh clone: install, migrate, import banks, seed demo, serve on :8000
	@echo "Melayani di http://127.0.0.1:8000 (Ctrl-C untuk berhenti)"
	@$(BIN)/apkd serve --host 127.0.0.1 --port 8000

serve: install ## serve without seeding
	@$(BIN)/apkd serve

lint: install ## ruff, and mypy on src/
	@$(BIN)/ruff check src tests bench migrations
	@$(BIN)/mypy

format: install ## format the code
	@$(BIN)/ruff format src tests bench
	@$(BIN)/ruff check --fix src tests bench

test: lint ## lint, then the whole suite on SQLite, and on PostgreSQL when APKD_TEST_POSTGRES_URL is set
	@$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$(PG_URL)" ]; then $(MAKE) --no-print-directory test-postgres; \
	 else echo "APKD_TEST_POSTGRES_URL is not set: PostgreSQL pass skipped"; fi

test-sqlite: install ## the suite on SQLite
	@echo "== tests on SQLite =="
	@APKD_TEST_DATABASE=sqlite $(BIN)/pytest $(XDIST) $(PYTEST_ARGS)

test-postgres: install ## the database tests on PostgreSQL (APKD_TEST_POSTGRES_URL)
	@echo "== tests on PostgreSQL =="
	@APKD_TEST_DATABASE=postgres APKD_TEST_POSTGRES_URL=$(PG_URL) $(BIN)/pytest $(XDIST) $(PYTEST_ARGS)

bench: install ## benchmarks, printed as ratios against same-run baselines (BENCH_ARGS=--national: the 10-minute run)
	@command -v wrk >/dev/null || { echo "installing wrk (the HTTP load generator)"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq wrk; fi; }
	@$(BIN)/python -m bench $(BENCH_ARGS)

clean: ## remove var/ (the embedded database and the development secret)
	rm -rf var
