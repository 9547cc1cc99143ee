"""AssetWatcher with a file trigger: serve records an event when the file appears (and deletes
it, as FileDeleteTrigger does), and the asset's consumer starts on it."""

from __future__ import annotations

import textwrap

import pendulum
import pytest

from dagshift.history.service import Service
from dagshift.history.store import Store
from tests.history.conftest import FakeClock

DAG_FILE = """
import pendulum
from airflow.providers.standard.triggers.file import FileDeleteTrigger
from airflow.sdk import DAG, Asset, AssetWatcher, task

trigger = FileDeleteTrigger(filepath={flag!r})
drop = Asset("incoming_file", watchers=[AssetWatcher(name="drop_watcher", trigger=trigger)])

with DAG("on_drop", schedule=[drop], start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):
    @task
    def seen(triggering_asset_events=None):
        return [e.extra for e in triggering_asset_events[drop]]
    seen()
"""


def test_a_file_appearing_starts_the_consumer_once(tmp_path, shim):
    flag = tmp_path / "flag.txt"
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "on_drop.py").write_text(textwrap.dedent(DAG_FILE).format(flag=str(flag)))
    store = Store(tmp_path / "h.db")
    svc = Service([tmp_path / "dags"], store, clock=FakeClock(pendulum.now("UTC")), poll=0,
                  log=print)  # fmt: skip
    assert svc.tick() == []
    flag.write_text("x")
    assert len(svc.tick()) == 1
    assert svc.wait_idle(30)
    assert not flag.exists()  # the trigger deletes what it found
    assert svc.tick() == []  # nothing new: no second run
    svc.shutdown()
    [run] = store.list_runs("on_drop")
    assert (run["trigger"], run["state"]) == ("asset", "success")


def test_a_trigger_that_needs_more_than_files_fails_at_load(shim):
    from dagshift.compat.assets import AssetWatcher
    from dagshift.compat.exceptions import AirflowException

    with pytest.raises(AirflowException, match="it watches only files"):
        AssetWatcher("queue", object())


def test_the_converted_file_starts_its_consumer_on_the_file_the_same_way(tmp_path):
    from dagshift.converter.convert import convert_source
    from dagshift.history.checkpoint import ResultStore, load_completed

    flag = tmp_path / "flag.txt"
    (tmp_path / "dags").mkdir()
    result = convert_source(textwrap.dedent(DAG_FILE).format(flag=str(flag)))
    assert result.status == "converted", result.findings
    assert "airflow" not in result.code
    (tmp_path / "dags" / "on_drop.py").write_text(result.code)
    store = Store(tmp_path / "h.db")
    svc = Service([tmp_path / "dags"], store, clock=FakeClock(pendulum.now("UTC")), poll=0,
                  log=print)  # fmt: skip
    assert svc.tick() == []
    flag.write_text("x")
    assert len(svc.tick()) == 1
    assert svc.wait_idle(30)
    assert not flag.exists()
    assert svc.tick() == []
    svc.shutdown()
    [run] = store.list_runs("on_drop")
    assert (run["trigger"], run["state"]) == ("asset", "success")
    seen = load_completed(store, ResultStore.beside(store.path), run["run_id"])["seen"].result
    assert seen == [{"from_trigger": True, "payload": True}]
