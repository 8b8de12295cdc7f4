# The two commands a newcomer needs: `make demo` runs the product, `make test` runs the checks.
# Both build the virtual environment first when it is missing or stale.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON313 ?= $(shell command -v python3.13 >/dev/null 2>&1 && python3.13 -c 'import sys' >/dev/null 2>&1 && command -v python3.13 || ls -d /root/.pyenv/versions/3.13*/bin/python3.13 2>/dev/null | tail -n 1)

.PHONY: venv test lint typecheck pytest demo bench clean

$(VENV)/.installed: requirements_test.txt
	@test -n "$(PYTHON313)" || { echo "python3.13 not found"; exit 1; }
	test -x $(PY) || $(PYTHON313) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements_test.txt
	touch $@

venv: $(VENV)/.installed

$(VENV)/.demo-installed: $(VENV)/.installed requirements_demo.txt
	$(PY) -m pip install --quiet -r requirements_demo.txt
	touch $@

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv
	$(VENV)/bin/mypy custom_components/smart_park scripts simulator central addons/park_sync/park_sync benchmarks demo docs/generate.py

pytest: venv
	$(VENV)/bin/pytest --cov --cov-report=term -p no:cacheprovider $(PYTEST_ARGS)

test: lint typecheck pytest

demo: $(VENV)/.demo-installed
	$(PY) -m demo

bench: venv
	$(PY) benchmarks/polling.py
	$(PY) benchmarks/sync.py
	$(PY) benchmarks/linkage_latency.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage demo/run
