# icslab: every target here is also an `icslab` subcommand (see `make help`).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PROXY_VERSION := 5.3.0
PROXY  := $(VENV)/node/node_modules/.bin/configurable-http-proxy
ROSTER ?= hub_config/roster.example.csv
ARGS   ?=

.DEFAULT_GOAL := help
.PHONY: help install up test test-unit lint bench datasets images clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-18s %s\n", $$1, $$2}'

install: $(BIN)/icslab $(PROXY) ## create .venv with icslab, its tests and the proxy
	$(BIN)/icslab languages install  # local mode's packs for hub_config/lab.toml's languages

# Reinstall when the dependency list changes; the stamp is the CLI itself.
$(BIN)/icslab: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "icslab needs Python >= 3.11 (found: $$($(PYTHON) --version))"; exit 1; }
	PYTHON=$(PYTHON) scripts/debian-deps
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# configurable-http-proxy goes into a project-local folder: no global npm install.
$(PROXY):
	PYTHON=$(PYTHON) scripts/debian-deps
	npm install --silent --no-audit --no-fund --prefix $(VENV)/node configurable-http-proxy@$(PROXY_VERSION)
	test -x $@

up: install ## build what is missing, then run the lab on http://127.0.0.1:8000
	$(BIN)/icslab datasets build --missing
	$(BIN)/icslab images build --if-engine
	$(BIN)/icslab up --roster $(ROSTER) $(ARGS)

test: install ## run every test: unit, datasets, integration (real hub, Docker), browser
	PYTHON=$(PYTHON) scripts/debian-deps browser test
	$(BIN)/icslab datasets build --missing
	$(BIN)/icslab images build --if-engine
	$(BIN)/icslab test

test-unit: install ## run the fast unit tests only
	$(BIN)/icslab test --unit

lint: install ## ruff on Python and notebooks, mypy on icslab and bench, through pre-commit
	$(BIN)/icslab lint

bench: install ## print the benchmarks' figures (spawn, datasets, BATADAL, notebooks, memory, plants); refresh the capacity planner's
	$(BIN)/icslab bench

images: install ## build the participant image offline (needs a Docker engine; root)
	$(BIN)/icslab images build

datasets: install ## build the workshop's datasets into datasets/build/ and verify them
	$(BIN)/icslab datasets build
	$(BIN)/icslab datasets verify

clean: ## remove the virtualenv and caches (not the lab's data dir)
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
