#!/bin/sh
# Comparison engines live in their own environments, never in the project's dependencies.
# Prefect 3 (with matplotlib for the plot) in .venv-bench-prefect; Airflow 3.3.2 comes with the
# project's test extra in .venv and is only ever run in subprocesses.
set -e
cd "$(dirname "$0")/.."
UV=.venv/bin/uv
test -x .venv-bench-prefect/bin/python || python3 -m venv .venv-bench-prefect
# fastapi 0.120+ breaks Prefect 3.8's ephemeral server (Body(min_items=...)): pin below it.
$UV pip install -q --python .venv-bench-prefect/bin/python 'prefect>=3,<4' 'fastapi<0.120' matplotlib
.venv/bin/python -c "import airflow.providers.standard" 2>/dev/null || \
  $UV pip install -q --python .venv/bin/python 'apache-airflow==3.3.2' apache-airflow-providers-standard
