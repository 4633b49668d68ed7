# Flockpilot: the verbs a newcomer needs. Every target works from a fresh clone.
SHELL := /bin/bash
# Lambda runs Python 3.13: prefer it (pyenv's, then PATH's), fall back to python3.
PY313 := $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) $(shell command -v python3.13 2>/dev/null))
PYTHON ?= $(or $(PY313),python3)
VENV := .venv
BIN := $(VENV)/bin
CHECKOV := .venv-checkov/bin/checkov

.PHONY: setup browser demo test test-unit lint template-checks bench package clean simulate

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

.stamp-venv: $(BIN)/python requirements-dev.txt shared/requirements.txt pyproject.toml
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

$(CHECKOV):
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/pip install --quiet --upgrade pip
	.venv-checkov/bin/pip install --quiet checkov==3.3.30

setup: .stamp-venv node_modules/.package-lock.json ## install everything (Python venv, DynamoDB Local and its Java)
	@devtools/bin/need java openjdk-17-jre-headless "DynamoDB Local runs on Java 17+"

browser: ## Chromium, for the test that renders the digest email
	@devtools/bin/need chromium chromium "one test renders the digest email in headless Chromium"

demo: setup ## run a day of Flockpilot locally: DynamoDB Local + X sandbox + moto
	$(BIN)/python -m devtools.demo

test: setup browser $(CHECKOV) ## every test: jobs on fakes, store contract, end to end, fault matrix, template checks
	$(BIN)/pytest -n 2
	$(MAKE) --no-print-directory template-checks

test-unit: setup
	$(BIN)/pytest tests/unit

template-checks: setup $(CHECKOV)
	$(BIN)/cfn-lint template.yaml
	BC_SKIP_MAPPING=TRUE $(CHECKOV) --quiet --compact --skip-download -f template.yaml --framework cloudformation

lint: setup ## ruff, and mypy strict on the layer, the handlers, devtools and bench
	$(BIN)/ruff check .
	$(BIN)/mypy
	@set -e; for handler in functions/*/app.py; do $(BIN)/mypy --no-error-summary "$$handler"; done  # each handler is a module "app"

bench: setup ## import time, shipped size, X API cost of a day
	$(BIN)/python -m bench.run

simulate: setup ## fly the real jobs for 90 simulated days against a synthetic X: sim/report.html, sim/simulation.json
	$(BIN)/python -m devtools.simulate --out sim/

package: setup ## build the layer for Lambda (python3.13, arm64) and print its size
	$(BIN)/python -m devtools.package

clean:
	rm -rf $(VENV) .venv-checkov node_modules build .aws-sam .stamp-venv .pytest_cache .mypy_cache .ruff_cache outbox
