"""A real ``dagshift serve`` starts asset-scheduled Airflow DAGs when another process updates
their assets: ``dagshift run producer.py`` on the same history, unmodified Airflow 3 (``Asset``)
and Airflow 2 (``Dataset``) files.

Airflow's rule (docs, "Asset-aware scheduling"): "a DAG that is scheduled on assets runs when
all of them [or the condition built with | and &] have been updated since its last run", once
per satisfied condition, and the run's ``triggering_asset_events`` holds every event of its
assets since that last run.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dagshift.history.store import Store
from tests.history.conftest import ROOT, spawn, wait_for

FIXTURES = ROOT / "fixtures" / "dags" / "scheduling"
RAW, REF = "s3://dagshift-fixtures/raw.csv", "s3://dagshift-fixtures/ref.csv"


def _dagshift(*args, cwd, env):
    return subprocess.run(
        [sys.executable, "-m", "dagshift", *map(str, args)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.fixture
def world(tmp_path):
    """A folder with copies of the fixture files, a marks folder, a history path."""
    import os

    folder, marks = tmp_path / "dags", tmp_path / "marks"
    folder.mkdir()
    marks.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MARKS": str(marks)}
    return folder, marks, tmp_path / "h.db", env


def _copy(folder: Path, *names: str) -> None:
    for name in names:
        shutil.copy(FIXTURES / name, folder / name)


def _runs(db: Path, flow: str) -> list[dict]:
    return [r for r in Store(db).list_runs(flow, limit=None) if r["state"] == "success"]


def _lines(marks: Path, flow: str) -> list:
    path = marks / flow
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def _serve(folder, db, tmp_path, env):
    proc = spawn("serve", folder, "--db", db, "--poll", "0.2", cwd=tmp_path, env=env)
    wait_for(lambda: db.exists() and len(Store(db).flows()) >= 4 or proc.poll() is not None,
             timeout=60, what="serve to load the DAG files")  # fmt: skip
    assert proc.poll() is None, proc.communicate()[1]
    return proc


def _stop(proc) -> str:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return err


def test_airflow_3_asset_consumers_start_once_per_satisfied_condition(tmp_path, world):
    folder, marks, db, env = world
    _copy(folder, "af3_sch_produce_raw.py", "af3_sch_produce_ref.py", "af3_sch_consumers.py")
    proc = _serve(folder, db, tmp_path, env)
    try:
        produced = time.monotonic()
        done = _dagshift("run", folder / "af3_sch_produce_raw.py", "--db", db, cwd=tmp_path,
                         env=env)  # fmt: skip
        assert done.returncode == 0, done.stderr
        wait_for(lambda: len(_runs(db, "af3_sch_on_raw")) == 1
                 and len(_runs(db, "af3_sch_on_either")) == 1, timeout=30,
                 what="the consumers of raw.csv")  # fmt: skip
        latency = time.monotonic() - produced
        assert latency < 15  # the producer's own start-up included
        done = _dagshift("run", folder / "af3_sch_produce_raw.py", "--db", db, cwd=tmp_path,
                         env=env)  # fmt: skip
        wait_for(lambda: len(_runs(db, "af3_sch_on_raw")) == 2, timeout=30, what="2nd run")
        assert _runs(db, "af3_sch_on_both") == []  # ref.csv has not been updated
        done = _dagshift("run", folder / "af3_sch_produce_ref.py", "--db", db, cwd=tmp_path,
                         env=env)  # fmt: skip
        assert done.returncode == 0, done.stderr
        wait_for(lambda: len(_runs(db, "af3_sch_on_both")) == 1
                 and len(_runs(db, "af3_sch_on_either")) == 3, timeout=30,
                 what="the consumers of both")  # fmt: skip
        time.sleep(1.5)  # several more ticks: nothing starts twice
    finally:
        err = _stop(proc)
    assert [len(_runs(db, f"af3_sch_{n}")) for n in ("on_raw", "on_either", "on_both")] == [2, 3, 1]
    assert {r["trigger"] for r in Store(db).list_runs("af3_sch_on_both")} == {"asset"}
    one_raw = [RAW, "af3_sch_produce_raw", "extract", {"rows": 3}]
    assert _lines(marks, "af3_sch_on_raw") == [[one_raw], [one_raw]]
    # The run on both saw every event since its last run: raw.csv twice, ref.csv once.
    assert _lines(marks, "af3_sch_on_both") == [
        [one_raw, one_raw, [REF, "af3_sch_produce_ref", "refresh", {}]]
    ]
    assert "af3_sch_on_both" in err and "asset event" in err
    # `dagshift runs` says why each run started: the asset events and their producers
    shown = _dagshift("runs", "af3_sch_on_both", "--json", "--db", db, cwd=tmp_path, env=env)
    [run] = json.loads(shown.stdout)
    assert run["why"] == (
        f"3 asset event(s): {RAW} by af3_sch_produce_raw/extract; "
        f"{REF} by af3_sch_produce_ref/refresh"
    )
    listing = _dagshift("runs", "--db", db, cwd=tmp_path, env=env).stdout
    assert "manual" in listing and "asset event(s)" in listing


def test_events_written_while_serve_was_killed_start_the_consumer_once_after_restart(
    tmp_path, world
):
    folder, marks, db, env = world
    _copy(folder, "af3_sch_produce_raw.py", "af3_sch_produce_ref.py", "af3_sch_consumers.py")
    proc = _serve(folder, db, tmp_path, env)
    proc.kill()  # SIGKILL: no shutdown, nothing flushed
    proc.communicate(timeout=30)
    done = _dagshift("run", folder / "af3_sch_produce_raw.py", "--db", db, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert _runs(db, "af3_sch_on_raw") == []
    proc = _serve(folder, db, tmp_path, env)
    try:
        wait_for(lambda: len(_runs(db, "af3_sch_on_raw")) == 1, timeout=30, what="the consumer")
        time.sleep(1.5)
    finally:
        _stop(proc)
    assert len(_runs(db, "af3_sch_on_raw")) == 1


AF2_PRODUCER = """
from datetime import datetime
from airflow.datasets import Dataset
from airflow.decorators import dag, task

@dag(schedule=None, start_date=datetime(2024, 1, 1), catchup=False)
def af2_sch_produce():
    @task(outlets=[Dataset("file:///tmp/dagshift/ds.csv")])
    def write():
        return 1
    write()

af2_sch_produce()
"""


def test_airflow_2_dataset_files_schedule_the_same_way(tmp_path, world):
    folder, marks, db, env = world
    _copy(folder, "af2_sch_consumer.py")
    (folder / "af2_sch_produce.py").write_text(AF2_PRODUCER)
    proc = spawn("serve", folder, "--db", db, "--poll", "0.2", cwd=tmp_path, env=env)
    try:
        wait_for(lambda: db.exists() and len(Store(db).flows()) >= 2, timeout=60, what="load")
        done = _dagshift("run", folder / "af2_sch_produce.py", "--db", db, cwd=tmp_path, env=env)
        assert done.returncode == 0, done.stderr
        wait_for(lambda: len(_runs(db, "af2_sch_consumer")) == 1, timeout=30, what="consumer")
    finally:
        _stop(proc)
    assert _lines(marks, "af2_sch_consumer") == [
        [["file:///tmp/dagshift/ds.csv", "af2_sch_produce", "write"]]
    ]


def test_serve_names_a_consumer_whose_asset_no_loaded_flow_updates(tmp_path, world):
    folder, marks, db, env = world
    _copy(folder, "af3_sch_consumers.py")
    proc = spawn("serve", folder, "--db", db, "--poll", "0.2", cwd=tmp_path, env=env)
    wait_for(lambda: db.exists() and len(Store(db).flows()) >= 3, timeout=60, what="load")
    time.sleep(0.5)
    err = _stop(proc)
    assert f"'af3_sch_on_both' waits on asset '{REF}', which no flow loaded here updates" in err


def test_a_converted_producer_and_consumers_schedule_as_the_originals_do(tmp_path, world):
    """``dagshift migrate`` turns the Airflow 3 pair into flows on dagshift's own assets (no
    airflow import left); ``serve`` on the converted folder starts the consumers once per
    satisfied condition when the converted producers run, with the same events."""
    folder, marks, db, env = world
    # the producer sets its event's extra through get_current_context()["outlet_events"]
    _copy(folder, "af3_sch_produce_raw.py", "af3_sch_produce_ref.py", "af3_sch_consumers.py")
    flows = tmp_path / "flows"
    done = _dagshift("migrate", folder, "--out", flows, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert "3 converted, 0 partial" in done.stderr
    for path in flows.glob("*.py"):
        assert "airflow" not in path.read_text(), path.name
    proc = _serve(flows, db, tmp_path, env)
    try:
        for producer, flow, count in [
            ("af3_sch_produce_raw", "af3_sch_on_raw", 1),
            ("af3_sch_produce_raw", "af3_sch_on_raw", 2),
            ("af3_sch_produce_ref", "af3_sch_on_both", 1),
        ]:
            produced = time.monotonic()
            done = _dagshift("run", flows / f"{producer}.py", "--db", db, cwd=tmp_path, env=env)
            assert done.returncode == 0, done.stderr
            wait_for(lambda: len(_runs(db, flow)) == count, timeout=30, what=flow)  # noqa: B023
            assert time.monotonic() - produced < 15  # the producer's own start-up included
        wait_for(lambda: len(_runs(db, "af3_sch_on_either")) == 3, timeout=30, what="either")
        time.sleep(1.5)  # several more ticks: nothing starts twice
    finally:
        _stop(proc)
    assert [len(_runs(db, f"af3_sch_{n}")) for n in ("on_raw", "on_either", "on_both")] == [2, 3, 1]
    one_raw = [RAW, "af3_sch_produce_raw", "extract", {"rows": 3}]
    assert _lines(marks, "af3_sch_on_raw") == [[one_raw], [one_raw]]
    assert _lines(marks, "af3_sch_on_both") == [
        [one_raw, one_raw, [REF, "af3_sch_produce_ref", "refresh", {}]]
    ]
