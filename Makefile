# ionflow: two commands on a fresh machine
#   make demo   - install everything and run the embedded-default demo (CHGNet + on-disk store)
#   make test   - install everything (system packages and services included) and run the tests
PYTHON ?= python3
PIP ?= $(PYTHON) -m pip
SHARED ?= $(abspath ../shared)
PYTEST_ARGS ?=
# The versions CI tested (see `make lock`); every install goes through them.
CONSTRAINTS ?= constraints.txt
# A hung test fails after this many seconds with a stack dump, instead of hanging the run.
TEST_TIMEOUT_S ?= 600

.PHONY: setup setup-system services demo test test-all lint bench lock

# torch must come first: a CPU wheel of 2.13.0 is on disk; any other request pulls a
# multi-GB CUDA build.
# pydefect and vise (the Kumagai/eFNV correction of `ionflow analyze defects`, through
# pymatgen-analysis-defects) come last with --no-deps: both are pure Python and the eFNV
# path imports nothing beyond ionflow's own dependencies, while their declared
# dependencies pull ~108 MB of unused, partly compiled packages (mp-api -> pyarrow and
# deltalake, phonopy, h5py). Their pins are in constraints.txt.
setup:
	$(PIP) install --quiet --disable-pip-version-check -c $(CONSTRAINTS) "torch==2.13.0"
	$(PIP) install --quiet --disable-pip-version-check -c $(CONSTRAINTS) -e ".[all]"
	$(PIP) install --quiet --disable-pip-version-check -c $(CONSTRAINTS) --no-deps pydefect vise

# Refresh constraints.txt on purpose: newest releases in a fresh virtualenv, frozen.
# Run `make test` afterwards and commit the file with the result.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --disable-pip-version-check "torch==2.13.0"
	.lock-venv/bin/pip install --quiet --disable-pip-version-check -e ".[all]"
	.lock-venv/bin/pip install --quiet --disable-pip-version-check --no-deps pydefect vise
	{ sed -n '/^#/p' $(CONSTRAINTS); .lock-venv/bin/pip freeze --exclude-editable \
	  | sed 's/^torch==2.13.0+cpu$$/torch==2.13.0/'; } > $(CONSTRAINTS).new
	mv $(CONSTRAINTS).new $(CONSTRAINTS) && rm -rf .lock-venv

# System packages the tests exercise for real: CP2K, a one-node Slurm cluster (munge).
setup-system:
	bash scripts/setup-system.sh

# Services the tests need: the local Slurm cluster.
services:
	bash scripts/start-services.sh "$(SHARED)"

demo: setup
	ionflow demo

# lint-imports checks the layer contract in pyproject.toml ([tool.importlinter]): an import
# that points up a layer (or closes a package cycle) fails the run before any test starts.
test: setup setup-system services
	lint-imports
	$(PYTHON) -m pytest -m "not slow" -q --timeout=$(TEST_TIMEOUT_S) $(PYTEST_ARGS)

test-all: setup setup-system services
	lint-imports
	$(PYTHON) -m pytest -q --timeout=$(TEST_TIMEOUT_S) $(PYTEST_ARGS)

lint:
	ruff check src tests benchmarks
	ruff format --check src tests benchmarks
	lint-imports

bench: setup
	$(PYTHON) benchmarks/msd_vs_pymatgen.py
	$(PYTHON) benchmarks/md_overhead.py
