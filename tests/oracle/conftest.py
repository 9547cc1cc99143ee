"""Fixtures for tests that compare with real Apache Airflow (see harness.py)."""

from pathlib import Path

import pytest

from tests.oracle import harness

FIXTURE_DAGS = harness.ROOT / "fixtures" / "dags"


@pytest.fixture(scope="session")
def fixture_dags() -> Path:
    """The folder of Airflow DAG files written for this project."""
    return FIXTURE_DAGS


@pytest.fixture(scope="session")
def airflow_run():
    """``airflow_run(dag_file, logical_date, generation="3", conf=None, params=None)``."""
    return harness.airflow_run


@pytest.fixture(scope="session")
def airflow_run_many():
    """``airflow_run_many([(dag_file, logical_date, ...), ...], generation="3")``."""
    return harness.airflow_run_many
