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

.PHONY: run test test-slow test-fast test-busy lint bench format clean-venv venv test-tools assets

# Serve the portal with Daphne (HTTP + websockets). It serves even without an engine:
# the portal shows a banner while the engine is down.
run: venv assets
	scripts/ensure-engine.sh || true
	$(PY) manage.py migrate --noinput
	$(PY) manage.py ensure_admin
	exec $(VENV)/bin/daphne -b $(HOST) -p $(PORT) dockerweb.asgi:application

# The suite runs on TEST_WORKERS pytest-xdist workers (2: CI's cores; the engine, Daphne and
# Chromium wait on each other, so two workers overlap that waiting). --dist loadfile keeps a
# file's tests on one worker; tests/xdist_scheduling.py keeps browser tests last in each and
# runs the engine-wide tests alone. TEST_WORKERS=0: one process, as before.
TEST_WORKERS ?= 2
XDIST = -n $(TEST_WORKERS) --dist loadfile

# Lint, then the whole test suite (installs chromium/registry and starts an engine if needed)
# except the slow tests (minutes each: `make test-slow`).
# With plain `make` the prerequisites run in the order listed.
test: venv assets test-tools lint
	$(PY) -m pytest $(XDIST) -m "not slow" $(PYTEST_ARGS)

# The slow tests only: the container image built from a debootstrapped Debian and run
# (tests/test_container_image.py; needs root, network to Debian, PyPI and npm; 3–6 min).
test-slow: venv assets test-tools
	$(PY) -m pytest -m slow $(PYTEST_ARGS)

# The pure tests only: no engine, registry or browser (tests/conftest.py marks the others).
# DOCKER_HOST points at nothing, so a test that needs the engine and escaped the marking
# fails here rather than quietly using whatever engine is around.
test-fast: venv assets
	DOCKER_HOST=unix:///nonexistent/dockerweb-test-fast.sock \
		$(PY) -m pytest -m "not engine and not browser" $(PYTEST_ARGS)

# The whole suite on a busy engine: first FOREIGN containers that are nobody's (created,
# never started; bench/foreign.py), then `make test`, then those containers removed again
# whatever the tests said (Ctrl-C included). Foreign containers already there count.
FOREIGN ?= 10000
test-busy: venv
	scripts/ensure-engine.sh
	run=busy-$$$$; trap '$(PY) bench/foreign.py down --run $$run' EXIT; \
		$(PY) bench/foreign.py up $(FOREIGN) --run $$run && $(MAKE) test

lint: venv
	$(RUFF) check .
	$(RUFF) format --check .
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

# Every benchmark, then the busy-engine run at BENCH_FOREIGN (default 10000) foreign
# containers, which takes minutes; BENCH_FOREIGN=0 leaves it out.
bench: venv assets test-tools
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

# Front-end packages from package-lock.json (npm ci), served through static files.
assets:
	@scripts/ensure-assets.sh

test-tools:
	@scripts/ensure-test-tools.sh
