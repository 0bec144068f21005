# Two commands on a fresh machine: `make app` runs the dashboard, `make test` runs the tests.
# Both install what they need into .venv first (and `make test` installs Chromium when missing).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: app test lint bench

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -r requirements-dev.txt
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	touch $@

/usr/bin/chromium:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver

# Flags for the app, e.g. make app ARGS="--data-dir DIR --store PATH --server.port 8600"
ARGS ?=

app: $(VENV)/.installed
	$(BIN)/rnnviz app $(ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: $(VENV)/.installed /usr/bin/chromium lint
	$(BIN)/python -m pytest -q

bench: $(VENV)/.installed
	$(BIN)/python bench/bench_training.py
