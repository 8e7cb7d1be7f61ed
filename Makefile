# ionflow: two commands on a fresh machine
#   make demo   - install everything and run the embedded-default demo (CHGNet + on-disk store)
#   make test   - install everything (system packages and services included) and run the tests
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip
SHARED ?= $(abspath ../shared)
PYTEST_ARGS ?=

.PHONY: setup setup-system services demo test test-all lint bench

# torch must come first: a CPU wheel of 2.13.0 is on disk; any other request pulls a
# multi-GB CUDA build.
setup:
	$(PIP) install --quiet --disable-pip-version-check "torch==2.13.0"
	$(PIP) install --quiet --disable-pip-version-check -e ".[all]"

# System packages the tests exercise for real: CP2K, a one-node Slurm cluster (munge).
setup-system:
	bash scripts/setup-system.sh

# Services the tests need: the local Slurm cluster.
services:
	bash scripts/start-services.sh "$(SHARED)"

demo: setup
	ionflow demo

test: setup setup-system services
	$(PYTHON) -m pytest -m "not slow" -q $(PYTEST_ARGS)

test-all: setup setup-system services
	$(PYTHON) -m pytest -q $(PYTEST_ARGS)

lint:
	ruff check src tests benchmarks
	ruff format --check src tests benchmarks

bench: setup
	$(PYTHON) benchmarks/msd_vs_pymatgen.py
	$(PYTHON) benchmarks/md_overhead.py
