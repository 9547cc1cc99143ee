# The quick start is two commands: `make demo` and `make test`. Each sets up .venv when missing.
# Packages are installed with their bytecode compiled: start-up time matters (`dagshift run` reaches
# its first task in ~0.4 s that way, ~1 s when every import compiles from source).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test setup oracle-envs repo-env browser bench lint clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check uv
	$(UV) pip install -q --compile-bytecode --python $(PY) -e '.[test,dev]'
	$(PY) -m compileall -q dagshift
	rm -f $(VENV)/.installed-*
	touch $@

setup: $(STAMP)

# The main job on the fixtures: convert the Airflow DAG files, verify each conversion against its
# original (run through the shim), write the HTML report, then run one DAG in both styles.
# Left out: bad/ (files that show error reporting, in the tests).
DEMO := out/demo
demo: $(STAMP)
	$(VENV)/bin/dagshift migrate fixtures/dags --out $(DEMO)/flows --exclude 'bad/*' \
	  --verify --verify-date 2024-01-15 --report $(DEMO)/report.html
	$(VENV)/bin/dagshift run fixtures/dags/af2_taskflow_etl.py --date 2024-01-15 --db $(DEMO)/dagshift.db
	$(VENV)/bin/dagshift run $(DEMO)/flows/af2_taskflow_etl.py --date 2024-01-15 --db $(DEMO)/dagshift.db
	@echo "report: $(DEMO)/report.html"
	@echo "open the UI on the demo's history: $(VENV)/bin/dagshift ui --db $(DEMO)/dagshift.db"

# Airflow 3 cannot load 1.10/2.0-style files; Airflow 2.11 is their oracle, in its own environment.
AIRFLOW2_VENV := .venv-airflow2
AIRFLOW2_STAMP := $(AIRFLOW2_VENV)/.installed-2.11.2

$(AIRFLOW2_STAMP): $(STAMP)
	test -x $(AIRFLOW2_VENV)/bin/python || $(PYTHON) -m venv $(AIRFLOW2_VENV)
	$(UV) pip install -q --compile-bytecode --python $(AIRFLOW2_VENV)/bin/python 'apache-airflow==2.11.2'
	touch $@

# The whole-repository test (tests/compat/test_repository.py): dagshift installed beside Airflow
# 2.11 and a provider that loads without a daemon, as in a team's Airflow 2 environment.
REPO_VENV := .venv-airflow2-repo
REPO_STAMP := $(REPO_VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

$(REPO_STAMP): $(STAMP)
	test -x $(REPO_VENV)/bin/python || $(PYTHON) -m venv $(REPO_VENV)
	$(UV) pip install -q --compile-bytecode --python $(REPO_VENV)/bin/python \
	  'apache-airflow==2.11.2' 'apache-airflow-providers-docker==4.6.1' -e .
	rm -f $(REPO_VENV)/.installed-*
	touch $@

repo-env: $(REPO_STAMP)

oracle-envs: $(AIRFLOW2_STAMP) $(REPO_STAMP)

# The HTML report and the UI are tested in a real headless Chromium (Debian's package), driven
# by the playwright release pinned in pyproject.toml (which downloads no browser of its own).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "chromium is not installed and cannot be installed here: the browser test will be skipped"

test: $(STAMP) $(AIRFLOW2_STAMP) $(REPO_STAMP) browser
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
	rm -rf $(VENV) $(AIRFLOW2_VENV) $(REPO_VENV) .pytest_cache .dagshift
