# make run   - set up .venv and run nsim's main job on the bundled sample log
# make test  - set up everything the tests need (system packages included) and run them
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run test lint bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/nsim replay sample_logs/seed-boot.journal --year 2017

test: setup
	$(BIN)/ruff check nsim tests benchmarks
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python benchmarks/bench_parse.py

clean:
	rm -rf $(VENV) .pytest_cache
