# The two commands a newcomer needs: `make demo` runs the product, `make test` runs the checks.
# Both build the virtual environment first when it is missing or stale.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
# Python 3.14 (>= 3.14.2): the host's, else a project-local one from Debian's packages (scripts/python314.sh;
# PY314_DEBS names an offline cache of them).

NEXT_VENV ?= .venv-ha-next
.PHONY: venv test lint typecheck pytest browser services forward-check demo demo-scale bench clean blueprints

$(VENV)/.installed: requirements_test.txt constraints/ha-2026.10.4.txt
	scripts/venv.sh $(VENV)
	$(PY) -m pip install --quiet --root-user-action=ignore -r requirements_test.txt
	touch $@

venv: $(VENV)/.installed

# The newest HA release in its own environment (no test harness supports it yet): see scripts/forward_check.py.
$(NEXT_VENV)/.installed: requirements_forward.txt constraints/ha-2026.11.0.txt
	scripts/venv.sh $(NEXT_VENV)
	$(NEXT_VENV)/bin/python -m pip install --quiet --root-user-action=ignore -r requirements_forward.txt
	touch $@

$(VENV)/.demo-installed: $(VENV)/.installed requirements_demo.txt
	$(PY) -m pip install --quiet --root-user-action=ignore -r requirements_demo.txt
	touch $@

# After editing blueprints/: the integration ships copies (HACS installs only custom_components), kept
# byte-identical by tests/core/test_blueprint_copies.py.
blueprints:
	python3 scripts/sync_blueprints.py

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv
	$(VENV)/bin/mypy custom_components/smart_park scripts simulator central addons/park_sync/park_sync benchmarks demo docs/generate.py

# The duty-room screen's browser tests (tests/browser) drive Debian's chromium; fonts-noto-cjk draws the Chinese.
# Installed when we may (root with apt-get), as `make demo` does for espeak-ng.
browser:
	@dpkg -s chromium fonts-noto-cjk >/dev/null 2>&1 || \
		{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		{ apt-get install -y -qq chromium fonts-noto-cjk >/dev/null 2>&1 || \
		{ apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }; } } || \
		echo "chromium or fonts-noto-cjk missing: the browser tests (tests/browser) will fail"

# Brokers and databases the tests start on loopback (tests/sync/brokers.py runs Debian's mosquitto,
# tests/sync/pg.py a PostgreSQL 15 cluster). Installed when we may (root with apt-get), as for the browser.
SERVICE_DEBS := mosquitto postgresql-15
services:
	@dpkg -s $(SERVICE_DEBS) >/dev/null 2>&1 || \
		{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		{ apt-get install -y -qq $(SERVICE_DEBS) >/dev/null 2>&1 || \
		{ apt-get update -qq && apt-get install -y -qq $(SERVICE_DEBS) >/dev/null; }; } } || \
		echo "$(SERVICE_DEBS): not all installed; the tests that start them (tests/sync) will fail"

pytest: venv browser services
	$(VENV)/bin/pytest --cov --cov-report=term -p no:cacheprovider $(PYTEST_ARGS)

forward-check: $(NEXT_VENV)/.installed
	$(NEXT_VENV)/bin/python scripts/forward_check.py

test: lint typecheck pytest forward-check

demo: $(VENV)/.demo-installed
	@# Spoken broadcasts: the demo's offline TTS engine runs Debian's espeak-ng, and HA's tts converts with
	@# ffmpeg (every HA install has it). Installed when we may (root with apt-get), else TTS is off.
	@command -v espeak-ng >/dev/null && command -v ffmpeg >/dev/null || \
		{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		{ apt-get install -y -qq espeak-ng ffmpeg >/dev/null 2>&1 || \
		{ apt-get update -qq && apt-get install -y -qq espeak-ng ffmpeg >/dev/null; }; } } || \
		echo "espeak-ng or ffmpeg missing: the demo runs without text-to-speech"
	$(PY) -m demo $(DEMO_ARGS)

# The demo on the district architecture: park_sync over MQTT -> mosquitto -> central consumers -> PostgreSQL.
demo-scale: services
	$(MAKE) demo DEMO_ARGS=--scale

$(VENV)/.bench-installed: $(VENV)/.installed requirements_bench.txt
	$(PY) -m pip install --quiet --root-user-action=ignore -r requirements_bench.txt
	touch $@

bench: $(VENV)/.bench-installed browser services
	$(PY) benchmarks/polling.py
	$(PY) benchmarks/sync.py
	$(PY) benchmarks/linkage_latency.py
	$(PY) benchmarks/bus_polling.py
	$(PY) benchmarks/hass_cpu.py
	$(PY) benchmarks/request_cost.py
	$(PY) benchmarks/gbt26875_uplink.py
	$(PY) benchmarks/volunteer_dispatch.py
	$(PY) benchmarks/audit_save.py
	$(PY) benchmarks/screen_snapshot.py
	$(PY) benchmarks/screen_browser.py
	$(PY) benchmarks/district_load.py

clean:
	rm -rf $(VENV) .venv-* .python314 .pytest_cache .mypy_cache .ruff_cache .coverage demo/run
