"""`serve` and `backfill` take a timetable's runs as Airflow's scheduler does: start times, logical
dates and data intervals from ``next_dagrun_info`` (the timetables themselves are pinned against
real Airflow in tests/runtime/test_timetables_match_airflow.py), resumed after a restart from
the data interval recorded with the last scheduled run."""

import json
import textwrap

import pendulum
import pytest

from dagshift.history.service import Service
from dagshift.history.store import Store

from .conftest import FakeClock, dagshift

# An unmodified Airflow 2-style file: Airflow 2's meaning of schedule="0 2 * * *", in a zone
# whose 2024-03-31 has 23 hours.
TIMETABLE_DAG = """
import json, os
import pendulum
from airflow import DAG
from airflow.operators.python import PythonOperator
from airflow.timetables.interval import CronDataIntervalTimetable

def note(data_interval_start=None, data_interval_end=None, logical_date=None, **_):
    with open(os.path.join(os.environ["MARKS"], "seen"), "a") as fh:
        fh.write(json.dumps([str(logical_date), str(data_interval_start),
                             str(data_interval_end)]) + "\\n")

with DAG("nightly", schedule=CronDataIntervalTimetable("0 2 * * *", timezone="Europe/Amsterdam"),
         start_date=pendulum.datetime(2024, 3, 29, tz="Europe/Amsterdam"), catchup=True):
    PythonOperator(task_id="note", python_callable=note)
"""
EXPECTED = [  # [logical date = interval start, interval end], UTC
    ["2024-03-29T01:00:00+00:00", "2024-03-30T01:00:00+00:00"],
    ["2024-03-30T01:00:00+00:00", "2024-03-31T01:00:00+00:00"],
    ["2024-03-31T01:00:00+00:00", "2024-04-01T00:00:00+00:00"],  # 23 hours
    ["2024-04-01T00:00:00+00:00", "2024-04-02T00:00:00+00:00"],
]


@pytest.fixture
def dag_folder(tmp_path, monkeypatch):
    import dagshift.compat

    dagshift.compat.install()  # as `dagshift serve` does; removed after the test
    folder, marks = tmp_path / "dags", tmp_path / "marks"
    folder.mkdir()
    marks.mkdir()
    (folder / "nightly.py").write_text(textwrap.dedent(TIMETABLE_DAG))
    monkeypatch.setenv("MARKS", str(marks))
    yield folder, marks
    dagshift.compat.uninstall()


def _seen(marks):
    rows = [json.loads(x) for x in (marks / "seen").read_text().splitlines()]
    return sorted([pendulum.parse(a).isoformat() for a in row] for row in rows)


def _serve_at(folder, store, moment):
    svc = Service([folder], store, clock=FakeClock(moment), poll=0, log=print)
    started = svc.tick()
    assert svc.wait_idle(60)
    svc.shutdown()
    return started


def test_serve_runs_a_timetable_s_intervals_and_resumes_after_them(tmp_path, dag_folder):
    folder, marks = dag_folder
    store = Store(tmp_path / "h.db")
    # 2024-04-02 00:30 UTC: the interval ending at 2024-04-02 00:00 is due, the next one is not
    started = _serve_at(folder, store, pendulum.datetime(2024, 4, 2, 0, 30, tz="UTC"))
    assert len(started) == 4
    assert _seen(marks) == [[s, s, e] for s, e in EXPECTED]
    # a new service (a restart) a day later runs only the one new interval, from the history
    started = _serve_at(folder, Store(tmp_path / "h.db"),
                        pendulum.datetime(2024, 4, 3, 0, 30, tz="UTC"))  # fmt: skip
    assert len(started) == 1
    assert _seen(marks)[-1] == ["2024-04-02T00:00:00+00:00"] * 2 + ["2024-04-03T00:00:00+00:00"]
    runs = store.list_runs("nightly", limit=None)
    assert {r["trigger"] for r in runs} == {"scheduled"} and len(runs) == 5


def test_backfill_runs_the_timetable_s_intervals_in_the_range(tmp_path, dag_folder):
    folder, marks = dag_folder
    db = tmp_path / "h.db"
    out = dagshift("backfill", "nightly", "--path", folder / "nightly.py", "--db", db,
                   "--start", "2024-03-29", "--end", "2024-03-31T23:00:00Z", "--json",
                   cwd=tmp_path, env={"MARKS": str(marks)})  # fmt: skip
    assert out.returncode == 0, out.stderr
    # Airflow 3's backfill: runs whose interval starts in the range (the last starts 03-31).
    assert _seen(marks) == [[s, s, e] for s, e in EXPECTED[:3]]
    assert len(json.loads(out.stdout)["runs"]) == 3
