# dockerweb developer targets. `make` alone = `make run`.
# DOCKER_HOST, DOCKERWEB_DATA_DIR, DOCKERWEB_ADMIN_PASSWORD, ... pass through untouched
# from the environment: Django settings read them.
SHELL := /bin/bash

HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

# `make VENV=/tmp/x ...` uses another virtualenv.
VENV := .venv
PY := $(VENV)/bin/python
RUFF := $(VENV)/bin/ruff

.PHONY: run test lint bench format clean-venv venv test-tools

# Serve the portal with Daphne (HTTP + websockets). It serves even without an engine:
# the portal shows a banner while the engine is down.
run: venv
	scripts/ensure-engine.sh || true
	$(PY) manage.py migrate --noinput
	$(PY) manage.py ensure_admin
	exec $(VENV)/bin/daphne -b $(HOST) -p $(PORT) dockerweb.asgi:application

# Lint, then the whole test suite (installs chromium/registry and starts an engine if needed).
# With plain `make` the prerequisites run in the order listed.
test: venv test-tools lint
	$(PY) -m pytest $(PYTEST_ARGS)

lint: venv
	$(RUFF) check .
	$(RUFF) format --check .
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

bench: venv test-tools
	scripts/ensure-engine.sh
	$(PY) bench/run.py

# Fix what ruff can fix, then format; remaining lint errors are printed but don't stop it.
format: venv
	$(RUFF) check --fix --exit-zero .
	$(RUFF) format .

# Remove the virtualenv only; var/ holds data and is kept.
clean-venv:
	rm -rf $(VENV)

venv:
	@VENV_DIR=$(VENV) scripts/bootstrap-venv.sh

test-tools:
	@scripts/ensure-test-tools.sh
