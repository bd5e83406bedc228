# Every target bootstraps its own .venv on a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
EXTRAS := worker,emulator,dev

.PHONY: demo test lint bench soak fmt clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[$(EXTRAS)]'
	@touch $(STAMP)

demo: $(STAMP)
	$(PY) scripts/demo.py

test: $(STAMP)
	bash scripts/test-deps.sh
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/ruff format --check src tests bench scripts
	$(VENV)/bin/mypy

fmt: $(STAMP)
	$(VENV)/bin/ruff format src tests bench scripts
	$(VENV)/bin/ruff check --fix src tests bench scripts

bench: $(STAMP)
	bash scripts/test-deps.sh
	$(PY) -m bench

# Long-run check (not in test or bench): jobs of 15 minutes complete; SOAK_S=seconds to change.
soak: $(STAMP)
	$(PY) -m bench.soak $(SOAK_S)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
