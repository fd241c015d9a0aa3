# Two commands do everything on a fresh machine with Python 3.11 and make:
#   make demo   creates .venv, installs arrowjit, runs examples/01_quickstart.py
#   make test   the same set-up, then ruff and the test suite
#   make bench  the same set-up plus the peers (duckdb, polars, numexpr), then benchmarks/run.py
#   make fuzz   the same set-up, then the long differential fuzz run (FUZZ_SECONDS, default 1200)
#   make docs   the same set-up, then regenerates the generated docs: the function list, the tour
#               (docs/tour/, its code run) and the architecture pictures (tests fail if they drift)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: demo test lint venv bench fuzz grammar docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

$(BENCH_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	touch $(BENCH_STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/01_quickstart.py

lint: $(STAMP)
	$(BIN)/ruff check arrowjit tests examples benchmarks tools

test: $(STAMP) lint
	$(BIN)/python -m pytest

# Options through BENCH_ARGS, e.g. make bench BENCH_ARGS="--quick" or BENCH_ARGS="--only E1,E5"
bench: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

# tests/test_fuzz.py for FUZZ_SECONDS with fresh random seeds: prints the cases run and every
# mismatch (with a one-row reproduction), writes them to FUZZ_LOG, fails if there are any.
FUZZ_SECONDS ?= 1200
FUZZ_LOG ?= fuzz-report.json
fuzz: $(STAMP)
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_LOG=$(FUZZ_LOG) $(BIN)/python -m pytest tests/test_fuzz.py \
		-k test_fuzz_long -s -q -p no:cacheprovider

# The parse tables shipped beside the grammar (rerun after editing arrowjit/grammar/filter.lark;
# tests/test_parser.py fails while they are stale).
grammar: $(STAMP)
	$(BIN)/python -c "from arrowjit.grammar.parser import write_tables; print('wrote', write_tables())"

# Each generator rewrites its own marked part of docs/; one command a line.
docs: $(STAMP)
	$(BIN)/python -m arrowjit.compiler.docs
	$(BIN)/python -m tools.build_docs

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
