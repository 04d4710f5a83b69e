# The README's two commands are `make demo` and `make test`; everything else is for developers.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

export WHOLECHILD_SOURCES ?= $(CURDIR)/sources

.PHONY: demo test test-fast lint format install dbt-prepare dagster bench clean

# Re-install only when the dependency list changes, so the inner loop stays fast.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,spark,s3]'
	@touch $(STAMP)

install: $(STAMP)

## make demo: set up, generate the demo district, land it, run the whole pipeline once
demo: install
	$(BIN)/wholechild demo

## make test: set up, then every test (pytest incl. dbt build on the demo, ruff, sqlfluff)
test: install lint
	$(BIN)/python -m pytest -n 2 --dist loadfile

## make test-fast: unit and contract tests only (the inner loop; under 3 minutes)
test-fast: install
	$(BIN)/python -m pytest -m "not slow" -n 2

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m orchestration.dbt_prepare
	$(BIN)/sqlfluff lint dbt_project/models dbt_project/macros --dialect duckdb

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(BIN)/sqlfluff fix dbt_project/models --dialect duckdb

## dagster dev against $WHOLECHILD_HOME (default ./.wholechild), with our dagster.yaml
dagster: install
	DAGSTER_HOME=$$($(BIN)/python -m orchestration.runtime) $(BIN)/dagster dev

## make bench: issue 8's performance bench, not part of make test (BENCH_STUDENTS=20000 make bench;
## BENCH_ARGS="--profile --keep --out DIR" for pyinstrument trees); figures in bench/results.json
BENCH_STUDENTS ?= 100000
BENCH_ARGS ?=
bench: install
	$(BIN)/python bench/run_bench.py --students $(BENCH_STUDENTS) $(BENCH_ARGS)

clean:
	rm -rf .wholechild dbt_project/target dbt_project/logs
