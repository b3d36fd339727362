# Two commands set everything up from a fresh clone: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
DATA   ?= .copilot
HOST   ?= 127.0.0.1
PORT   ?= 8000
# torch is pinned to the CPU wheel on this disk; requirements.lock pins the rest.
PIP_INSTALL := $(BIN)/pip install --disable-pip-version-check -q -c requirements.lock

export COPILOT_DATA_DIR ?= $(DATA)
export HF_HUB_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: run serve ingest test lint format typecheck eval bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml requirements.lock
	$(PIP_INSTALL) "torch==2.13.0"
	$(PIP_INSTALL) -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP_INSTALL) -e ".[dev]"
	touch $@

run: $(VENV)/.installed ingest serve

ingest: $(VENV)/.installed
	$(BIN)/copilot ingest runbooks

serve: $(VENV)/.installed
	$(BIN)/copilot serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

eval: $(VENV)/.installed-dev
	$(BIN)/python -m evals.retrieval --corpus runbooks --queries evals/datasets/runbooks.jsonl

bench: $(VENV)/.installed-dev
	$(BIN)/python -m evals.bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
