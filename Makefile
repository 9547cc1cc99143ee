# The quick start is two commands: `make demo` and `make test`. Each sets up .venv when missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test setup oracle-envs browser bench lint clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check uv
	$(UV) pip install -q --python $(PY) -e '.[test,dev]'
	rm -f $(VENV)/.installed-*
	touch $@

setup: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/dagshift run fixtures/flows/etl.py

# Airflow 3 cannot load 1.10/2.0-style files; Airflow 2.11 is their oracle, in its own environment.
AIRFLOW2_VENV := .venv-airflow2
AIRFLOW2_STAMP := $(AIRFLOW2_VENV)/.installed-2.11.2

$(AIRFLOW2_STAMP): $(STAMP)
	test -x $(AIRFLOW2_VENV)/bin/python || $(PYTHON) -m venv $(AIRFLOW2_VENV)
	$(UV) pip install -q --python $(AIRFLOW2_VENV)/bin/python 'apache-airflow==2.11.2'
	touch $@

oracle-envs: $(AIRFLOW2_STAMP)

# The HTML report is tested in a real headless Chromium (Debian's package).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "chromium is not installed and cannot be installed here: the browser test will be skipped"

test: $(STAMP) $(AIRFLOW2_STAMP) browser
	$(PY) -m pytest -q -n auto

# Every README performance figure: engines set up in their own venvs, run interleaved, rendered.
BENCH_ARGS ?=
bench: $(STAMP)
	sh bench/setup.sh
	$(PY) bench/suite.py $(BENCH_ARGS)
	$(PY) bench/shim_chain.py
	.venv-bench-prefect/bin/python bench/render.py
	$(PY) bench/runtime_overhead.py
	$(PY) bench/distributed_overhead.py

lint: $(STAMP)
	$(VENV)/bin/ruff check dagshift tests bench
	$(VENV)/bin/black --check dagshift tests bench

clean:
	rm -rf $(VENV) $(AIRFLOW2_VENV) .pytest_cache .dagshift
