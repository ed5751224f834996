# The commands people run. `make run` and `make test` work on a fresh clone: they create the
# virtualenv and install what is missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)
CHROMIUM_PATH ?= /usr/lib/chromium/chromium
export CHROMIUM_PATH

.PHONY: run test lint unit functional e2e screenshots venv chromium clean

run: $(STAMP) ## Start the local stack (moto, Zoho sandbox, OIDC provider, chalice local)
	$(PY) -m devstack

test: $(STAMP) chromium lint ## Lint, type-check, and run every test tier (unit, functional, browser)
	$(PY) -m pytest

lint: $(STAMP) ## ruff, mypy and cfn-lint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/cfn-lint infra/resources.yaml

unit: $(STAMP)
	$(PY) -m pytest tests/unit tests/devstack

functional: $(STAMP)
	$(PY) -m pytest tests/functional

e2e: $(STAMP) chromium
	$(PY) -m pytest tests/e2e

screenshots: $(STAMP) chromium ## Refresh docs/screenshots from a real browser run
	UPDATE_SCREENSHOTS=1 $(PY) -m pytest tests/e2e -k connect_then_revoke

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11 or newer is needed as $(PYTHON)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $@

chromium: ## Debian's chromium for the browser tests (never `playwright install`)
	@if [ -x "$(CHROMIUM_PATH)" ]; then exit 0; fi; \
	if command -v apt-get >/dev/null; then \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  echo "Installing Debian's chromium for the browser tests..."; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	else \
	  echo "Chromium is not at $(CHROMIUM_PATH) and apt-get is not available: install Chromium and set CHROMIUM_PATH."; exit 1; \
	fi; \
	[ -x "$(CHROMIUM_PATH)" ] || { echo "Chromium is still not at $(CHROMIUM_PATH): set CHROMIUM_PATH."; exit 1; }

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .stack
