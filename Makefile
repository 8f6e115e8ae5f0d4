# Two entry points for a fresh machine: `make demo` and `make test`.
# Each installs what it needs (Graphviz through apt-get, Python packages in .venv).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    := out
REVIEW := docs/review-example
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo paper test lint diagrams bench simulate suite sweep fuzz fuzz-market kill-test graphviz install clean

# Graphviz's dot renders SVG/PNG (DOT output needs nothing). Without it the tests that
# need it are skipped and `render --format svg` says so; the install is tried, not forced.
graphviz:
	@command -v dot >/dev/null 2>&1 || { \
	  echo "installing Graphviz (apt-get)"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null \
	  || echo "warning: could not install Graphviz; SVG/PNG rendering unavailable"; }

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

install: graphviz $(STAMP)

demo: install
	@mkdir -p $(OUT)
	$(BIN)/scalpchart validate --limits config/limits.yaml
	$(BIN)/scalpchart run --symbol 005930 --side buy --qty 300 --seed 7 --clock virtual --trace-out $(OUT)/demo-run.json
	$(BIN)/scalpchart render --trace $(OUT)/demo-run.json --format svg -o $(OUT)/demo-run.svg
	@echo "the run's path is drawn in $(OUT)/demo-run.svg"

# The KIS adapter against the local paper exchange (no credentials needed); RUN=... overrides
# the intent, e.g. make paper RUN="--symbol 000660 --side sell --qty 50 --format json"
paper: install
	$(BIN)/python -m execution.paper.demo $(RUN)

test: install
	$(BIN)/python -m pytest

# Every scenario of config/scenarios through the engine and the baselines: one table, the
# targets met or missed per scenario (exit 1 when one is missed); SUITE=... picks a folder.
SUITE ?= config/scenarios
suite: install
	@mkdir -p $(OUT)
	$(BIN)/scalpchart simulate --suite $(SUITE) --out $(OUT)/suite --no-progress

lint: install
	$(BIN)/ruff check statecharts execution tests
	$(BIN)/mypy
	$(BIN)/lint-imports

diagrams: install
	$(BIN)/scalpchart render --format dot -o diagrams/scalp_execution.dot
	$(BIN)/scalpchart render --format svg -o diagrams/scalp_execution.svg
	$(BIN)/scalpchart diff $(REVIEW)/before.yaml $(REVIEW)/after.yaml \
	  --limits-old $(REVIEW)/limits-before.yaml --limits-new $(REVIEW)/limits-after.yaml \
	  --render svg -o diagrams/review-example.svg >/dev/null || [ $$? = 1 ]

bench: install
	$(BIN)/scalpchart bench
	$(BIN)/python -m pytest tests/bench -m bench --benchmark-only
	$(BIN)/python -m execution.perf.loopback --intents 300

# 10,000 hostile chart and limits documents through validate, matrix, the Engine and a run
# (SCALPCHART_FUZZ_EXAMPLES=N for another count); the default test run has a seeded 200.
fuzz: install
	$(BIN)/python -m pytest tests/property/test_fuzz_documents.py -m fuzz -s

# 500 random markets (any tick band and board, VIs, the auctions, slow and lossy brokers)
# through the engine and the baselines, the law checked on every intent (the default test
# run has a seeded handful); SCALPCHART_MARKET_FUZZ_RUNS=N / _FROM=S for other seeds.
fuzz-market: install
	$(BIN)/python -m pytest tests/property/test_market_fuzz.py -m fuzz

# The engine killed with SIGKILL at 200+ points of its lifecycle and recovered from its
# journal (KILL_SEED=N, KILL_POINTS=N to vary; ~10 minutes)
kill-test: install
	$(BIN)/python -m pytest -s -m kill tests/scenarios/test_kill_recovery.py

simulate: install
	@mkdir -p $(OUT)
	$(BIN)/scalpchart simulate --out $(OUT)/simulate

sweep: install
	@mkdir -p $(OUT)
	$(BIN)/scalpchart sweep config/sweeps/adjust.yaml --out $(OUT)/sweep --resume

clean:
	rm -rf $(VENV) $(OUT) build *.egg-info
