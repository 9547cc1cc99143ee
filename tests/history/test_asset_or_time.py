"""AssetOrTimeSchedule: a flow runs on its timetable and on its assets, whichever comes.

Airflow's docs ("Combining asset and time-based schedules"): "a DAG can be scheduled based on
both asset events and time-based schedules ... the DAG will run either when the timetable
triggers it or when the asset condition is met"."""

import textwrap

import pendulum

from dagshift.history.assets import record_event
from dagshift.history.service import Service
from dagshift.history.store import Store

from .conftest import FakeClock

FLOW = """
import pendulum
from dagshift import Asset, AssetOrTimeSchedule, Flow, task
from dagshift.runtime.timetables import CronTriggerTimetable

@task
def work():
    return 1

with Flow("both", schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 6 * * *", timezone="UTC"),
        assets=[Asset("s3://lake/raw")]),
        start_date=pendulum.datetime(2024, 1, 10, tz="UTC")) as flow:
    work()
"""


def test_a_flow_runs_on_its_timetable_and_on_its_asset(tmp_path):
    (tmp_path / "both.py").write_text(textwrap.dedent(FLOW))
    store = Store(tmp_path / "h.db")
    clock = FakeClock(pendulum.datetime(2024, 1, 10, 7, tz="UTC"))
    svc = Service([tmp_path / "both.py"], store, clock=clock, poll=0, log=print)
    assert len(svc.tick()) == 1  # 06:00 today, by the timetable
    assert svc.wait_idle(30)
    record_event(store, "s3://lake/raw", flow="producer", run_id="r1", task_id="t")
    assert len(svc.tick()) == 1  # the asset event
    assert svc.wait_idle(30)
    assert svc.tick() == []  # neither is due again
    svc.shutdown()
    runs = store.list_runs("both", limit=None)
    assert sorted(r["trigger"] for r in runs) == ["asset", "scheduled"]
    assert {r["state"] for r in runs} == {"success"}
    scheduled = next(r for r in runs if r["trigger"] == "scheduled")
    assert scheduled["logical_date"] == "2024-01-10T06:00:00+00:00"
