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

.PHONY: run serve ingest test lint format typecheck eval bench audit clean browser-deps postgres-deps graphviz-deps alertmanager-deps screenshots

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
	$(BIN)/copilot catalog import runbooks/catalog
	$(BIN)/copilot import postmortems runbooks/postmortems

serve: $(VENV)/.installed
	$(BIN)/copilot serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-dev browser-deps postgres-deps graphviz-deps alertmanager-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest --durations=15

# The browser tests (tests/web) drive Debian's chromium through Playwright's Python package, which
# never downloads a browser of its own. Installed here when missing and we are root; otherwise the
# browser tests skip and say why (on CI, as root, a missing chromium fails them instead).
CHROMIUM ?= /usr/bin/chromium
browser-deps:
	@if [ -x "$(CHROMIUM)" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "browser-deps: installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
			|| echo "browser-deps: apt-get could not install chromium; the browser tests will skip"; \
	else \
		echo "browser-deps: $(CHROMIUM) is missing and installing it needs root and apt-get;" \
			"the browser tests will skip"; \
	fi

# The catalog's blast-radius picture is laid out by Graphviz's dot (Debian's graphviz package).
# Installed here when missing and we are root; otherwise that test skips and says why (on CI it
# fails instead).
graphviz-deps:
	@if command -v dot >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "graphviz-deps: installing Debian's graphviz for the catalog picture"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null \
			|| echo "graphviz-deps: apt-get could not install graphviz; the picture test will skip"; \
	else \
		echo "graphviz-deps: dot is missing and installing graphviz needs root and apt-get;" \
			"the picture test will skip"; \
	fi

# The storage tests run on SQLite and on a real PostgreSQL: tests/db/postgres.py initialises a
# throwaway cluster in a temp dir on 127.0.0.1 (as the postgres user when run as root). Debian's
# postgresql is installed here when no pg_ctl is found and we are root; otherwise the PostgreSQL
# tests skip and say why (on CI a missing PostgreSQL fails them instead).
postgres-deps:
	@if ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null 2>&1; then \
		exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "postgres-deps: installing Debian's postgresql for the database tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null \
			|| echo "postgres-deps: apt-get could not install postgresql; the PostgreSQL tests will skip"; \
	else \
		echo "postgres-deps: pg_ctl is missing and installing postgresql needs root and apt-get;" \
			"the PostgreSQL tests will skip"; \
	fi

# The alert intake's end-to-end test (tests/alerts/test_alertmanager_e2e.py) runs Debian's real
# Prometheus Alertmanager on 127.0.0.1, its webhook pointed at a copilot served by uvicorn.
# Installed here when missing and we are root; otherwise that test skips and says why (on CI, a
# missing Alertmanager fails it instead).
ALERTMANAGER ?= /usr/bin/prometheus-alertmanager
alertmanager-deps:
	@if [ -x "$(ALERTMANAGER)" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "alertmanager-deps: installing Debian's prometheus-alertmanager for the alert tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			prometheus-alertmanager >/dev/null \
			|| echo "alertmanager-deps: apt-get could not install it; the Alertmanager test will skip"; \
	else \
		echo "alertmanager-deps: $(ALERTMANAGER) is missing and installing it needs root and" \
			"apt-get; the Alertmanager test will skip"; \
	fi

# Re-take the README's screenshots of the war-room page (docs/screenshots/*.png).
screenshots: $(VENV)/.installed-dev browser-deps
	COPILOT_SCREENSHOT_DIR=docs/screenshots $(BIN)/pytest -q tests/web/test_warroom_browser.py \
	  tests/web/test_firing_browser.py tests/web/test_blast_radius_browser.py \
	  tests/web/test_insights_browser.py tests/statuspage/test_picker_browser.py

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

# Dependency audit: pip-audit (in its own venv, so it never changes the project's pins) checks
# every pin in requirements.lock against the PyPI advisory database. It needs that database, so
# it is not part of `make test`. Accepted findings, each with its reason: audit-accepted.txt.
AUDIT_VENV := .venv-audit
PIP_AUDIT  := pip-audit==2.10.1
AUDIT_IGNORES = $(shell sed -n 's/^\([A-Za-z0-9][A-Za-z0-9._:-]*\)[[:space:]].*/--ignore-vuln \1/p' audit-accepted.txt)

$(AUDIT_VENV)/bin/pip-audit:
	$(PYTHON) -m venv $(AUDIT_VENV)
	$(AUDIT_VENV)/bin/pip install --disable-pip-version-check -q "$(PIP_AUDIT)"

audit: $(AUDIT_VENV)/bin/pip-audit requirements.lock audit-accepted.txt
	@# Local version labels (torch's +cpu) name no PyPI release: audit the release they build.
	sed 's/+[A-Za-z0-9.]*$$//' requirements.lock > $(AUDIT_VENV)/requirements.txt
	$(AUDIT_VENV)/bin/pip-audit --strict --no-deps --disable-pip --progress-spinner off \
		-r $(AUDIT_VENV)/requirements.txt $(AUDIT_IGNORES)

clean:
	rm -rf $(VENV) $(AUDIT_VENV) .pytest_cache .mypy_cache .ruff_cache
