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
	@echo "Creating $(VENV) and installing requirements-dev.txt (about a minute the first time)..."
	$(PYTHON) -m venv $(VENV) || { echo "python3 -m venv failed: on Debian, install the python3-venv package"; exit 1; }
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

# ---- Deploy and operate (docs/deploy.md) -------------------------------------------------------------
# STAGE=dev|prod. AWS credentials and region come from your AWS configuration (AWS_PROFILE, AWS_REGION).
# RESOURCE_PARAMS: extra infra/resources.yaml parameters, e.g. "AlarmEmail=ops@acme.example LogRetentionInDays=90".
STAGE ?= dev
RESOURCE_PARAMS ?=

.PHONY: lint-infra package resources policy deploy deploy-prod urls

lint-infra: $(STAMP) ## cfn-lint infra/resources.yaml and a packaged app (example policy); no AWS account needed
	$(VENV)/bin/cfn-lint infra/resources.yaml
	$(PY) -m tools.package_app --stage $(STAGE) --example-policy --out build/package-check-$(STAGE)
	$(VENV)/bin/cfn-lint build/package-check-$(STAGE)/sam.json

package: $(STAMP) ## chalice package STAGE into build/package-STAGE/ (sam.json, deployment.zip with bytecode), lint it, print sizes
	$(PY) -m tools.package_app --stage $(STAGE)
	$(VENV)/bin/cfn-lint build/package-$(STAGE)/sam.json

resources: $(STAMP) ## Create or update the STAGE resources stack (table, secrets, log groups, alarms, dashboard)
	$(PY) -m tools.resources_stack --stage $(STAGE) $(addprefix --param ,$(RESOURCE_PARAMS)) $(if $(filter prod,$(STAGE)),--termination-protection)

policy: $(STAMP) ## Render .chalice/policy-STAGE.json from the resources stack's outputs
	$(PY) -m tools.render_policy --stage $(STAGE)

deploy: $(STAMP) ## Deploy STAGE: configuration check, resources stack, IAM policy, chalice deploy (of the package with bytecode), URLs
	$(PY) -m tools.check_config --stage $(STAGE) $(if $(STRICT),--strict)
	$(MAKE) --no-print-directory resources policy STAGE=$(STAGE) RESOURCE_PARAMS="$(RESOURCE_PARAMS)"
	$(PY) -m tools.deploy_app --stage $(STAGE)
	$(PY) -m tools.gateway_responses --stage $(STAGE)
	$(PY) -m tools.sigma_urls --stage $(STAGE)

deploy-prod: ## Deploy prod; refuses an incomplete configuration
	$(MAKE) --no-print-directory deploy STAGE=prod STRICT=1 RESOURCE_PARAMS="$(RESOURCE_PARAMS)"

urls: $(STAMP) ## Print the Connection/Revoke URLs for Zoho Sigma and the OIDC redirect URI of STAGE
	$(PY) -m tools.sigma_urls --stage $(STAGE)

# ---- Performance (docs/performance.md) ------------------------------------------------------------------
.PHONY: bench

bench: $(STAMP) ## Cold start, warm requests, AWS calls per flow, package size, memory, cost: a table and build/bench/results.json
	$(PY) -m bench $(BENCH_ARGS)
