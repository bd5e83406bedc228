# Every target bootstraps its own .venv on a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
LOCK := requirements.lock
PIP := $(PY) -m pip install --quiet --disable-pip-version-check
# The one tool that writes $(LOCK); the same version is in the dev extra.
UV_VERSION := 0.13.9

.PHONY: demo test lint bench soak fmt clean lock mutate

# Installs exactly what $(LOCK) names (no resolution, nothing else), then podkit itself with
# the hatchling and editables the lock holds.
$(STAMP): pyproject.toml $(LOCK)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) --no-deps --require-hashes -r $(LOCK)
	$(PIP) --no-deps --no-build-isolation -e .
	$(PY) scripts/check_lock.py $(LOCK)
	$(PY) -m pip check --disable-pip-version-check
	@touch $(STAMP)

# Refresh $(LOCK) from pyproject.toml (after adding or changing a dependency): newest releases
# inside the ranges and pins, for every platform, Python 3.11 and up, with hashes.
lock:
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@test -x $(VENV)/bin/uv || $(PIP) uv==$(UV_VERSION)
	$(VENV)/bin/uv pip compile pyproject.toml --all-extras --universal --python-version 3.11 \
		--generate-hashes --no-config --no-python-downloads --default-index https://pypi.org/simple \
		--custom-compile-command 'make lock' --output-file $(LOCK) --quiet

demo: $(STAMP)
	$(PY) scripts/demo.py

# Most tests wait on processes (workers, emulators, nginx), so three pytest processes keep two
# cores busy; PYTEST_WORKERS=0 runs the suite in one process.
PYTEST_WORKERS ?= 3

test: $(STAMP)
	bash scripts/test-deps.sh
	$(PY) -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/ruff format --check src tests bench scripts
	$(VENV)/bin/mypy

fmt: $(STAMP)
	$(VENV)/bin/ruff format src tests bench scripts
	$(VENV)/bin/ruff check --fix src tests bench scripts

# Mutation testing, one module after another (slow; not part of `make test`).
# `make mutate MODULES=planner` runs one; `$(PY) scripts/mutate.py --list` names them.
MODULES ?= planner executor paths verify journal http
mutate: $(STAMP)
	$(PY) scripts/mutate.py $(MODULES)

bench: $(STAMP)
	bash scripts/test-deps.sh gcc libc6-dev rclone
	$(PY) -m bench

# Long-run check (not in test or bench): jobs of 15 minutes complete; SOAK_S=seconds to change.
soak: $(STAMP)
	$(PY) -m bench.soak $(SOAK_S)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
