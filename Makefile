# Tenure: `make demo` to try it, `make test` to run every test. See README.md.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
DEMO_DB ?= $(CURDIR)/tenure-demo.db

.PHONY: demo test lint format install dev clean

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml
	$(PIP) install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed
dev: $(VENV)/.installed-dev

## demo: install, create/migrate a SQLite database, load the demo workspace, serve on :8000
demo: install
	TENURE_DATABASE_URL=sqlite:///$(DEMO_DB) $(BIN)/tenure db upgrade
	TENURE_DATABASE_URL=sqlite:///$(DEMO_DB) $(BIN)/tenure demo
	TENURE_DATABASE_URL=sqlite:///$(DEMO_DB) $(BIN)/tenure serve

## screenshots: PNGs of the main pages on demo data, desktop and phone widths, in ./screenshots/
## (a throwaway SQLite demo served on a free port; needs /usr/bin/chromium, never downloads one)
.PHONY: screenshots
screenshots: dev
	$(BIN)/python scripts/screenshots.py --out $(CURDIR)/screenshots

## test: install the development dependencies and run the whole test suite
test: dev
	$(BIN)/pytest

## lint: ruff, mypy, import-linter and a migrations-vs-models check
lint: dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	rm -f $(VENV)/alembic-check.db
	TENURE_DATABASE_URL=sqlite:///$(CURDIR)/$(VENV)/alembic-check.db $(BIN)/tenure db upgrade
	TENURE_DATABASE_URL=sqlite:///$(CURDIR)/$(VENV)/alembic-check.db $(BIN)/alembic check

format: dev
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

## bench: the benchmark suite (bench/README.md): generate once into .bench/ (cached by size and
## seed), serve, measure, write bench/results/<date>-<db>-<size>.{json,md}.
## make bench SIZE=S|M|L DB=sqlite|postgresql|both [SEED=1 ITERATIONS=40]
## (PostgreSQL: BENCH_POSTGRES_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/tenure_bench)
SIZE ?= S
DB ?= sqlite
SEED ?= 1
ITERATIONS ?= 40
.PHONY: bench
bench: dev
	$(BIN)/python -m bench.run --size $(SIZE) --db $(DB) --seed $(SEED) --iterations $(ITERATIONS)

clean:
	rm -rf $(VENV) $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm
