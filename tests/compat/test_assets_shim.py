"""Airflow asset names through the shim: inlet_events reads the events recorded in the history,
AssetWatcher with a trigger dagshift cannot run fails at load, with a message."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

FILE = """
import pendulum
from airflow.sdk import DAG, Asset, task

RAW = Asset("s3://lake/raw.csv")
START = pendulum.datetime(2024, 1, 1, tz="UTC")

with DAG("producer", schedule=None, start_date=START):
    @task(outlets=[RAW])
    def write(*, outlet_events=None):
        outlet_events[RAW].extra = {"rows": 3}
    write()

with DAG("reader", schedule=None, start_date=START):
    @task(inlets=[RAW])
    def read(*, inlet_events=None):
        return [[e.extra, e.source_dag_id] for e in inlet_events[RAW]]
    read()
"""


def _run(path, tmp_path):
    return subprocess.run(
        [sys.executable, "-m", "dagshift", "run", str(path), "--json", "--db",
         str(tmp_path / "h.db")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip


def test_inlet_events_are_the_events_recorded_in_the_history(tmp_path):
    path = tmp_path / "dags.py"
    path.write_text(textwrap.dedent(FILE))
    first = _run(path, tmp_path)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["reader"]["tasks"]["read"]["result"] == [
        [{"rows": 3}, "producer"]
    ]
    second = _run(path, tmp_path)  # the same history: both updates are there
    assert len(json.loads(second.stdout)["reader"]["tasks"]["read"]["result"]) == 2


def test_an_asset_watcher_fails_at_load_saying_what_to_do(shim):
    from dagshift.compat.assets import AssetWatcher
    from dagshift.compat.exceptions import AirflowException

    with pytest.raises(AirflowException, match="cannot run the trigger object .it watches only"):
        AssetWatcher("w", object())
