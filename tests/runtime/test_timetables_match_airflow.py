"""dagshift's timetables schedule the same runs as real Airflow's, a year at a time.

For every timetable, real Airflow (3.3, and 2.11 where it has the timetable) walks
``next_dagrun_info`` in a subprocess (``timetable_oracle.py``), each run's data interval fed to
the next call as its scheduler does; dagshift's timetable walks the same way; the run times,
data intervals and logical dates must be equal, as must ``infer_manual_data_interval``. Zones
with DST (Europe/Amsterdam: 2024-03-31 02:00 does not exist, 2024-10-27 02:00-03:00 happens
twice) are in most cases. Cases with catch-up off pin "now" on both sides.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from pathlib import Path

import pendulum
import pytest

from dagshift.runtime import timetables as ours
from tests.oracle import harness

RUNNER = Path(__file__).with_name("timetable_oracle.py")
AMS = "Europe/Amsterdam"
YEAR = dict(start="2024-01-01T00:00:00+01:00", end="2024-12-31T23:59:59+01:00")
DST_DAYS = ["2024-03-31T01:30:00Z", "2024-03-31T02:30:00+02:00", "2024-10-27T00:30:00Z",
            "2024-10-27T01:30:00Z", "2024-07-15T13:37:00Z"]  # fmt: skip
BOTH, ONLY_3 = ("2", "3"), ("3",)

CASES = [
    # Airflow 2's schedule="0 2 * * *" in a DST zone: 02:00 is skipped once, repeated once
    dict(id="cron_interval_daily_ams", expr=f"CronDataIntervalTimetable('0 2 * * *', '{AMS}')",
         catchup=True, steps=400, gens=BOTH, **YEAR),
    dict(id="cron_interval_hourly_ams", expr=f"CronDataIntervalTimetable('30 * * * *', '{AMS}')",
         catchup=True, steps=9000, gens=BOTH, **YEAR),
    dict(id="cron_interval_monthly", expr="CronDataIntervalTimetable('@monthly', 'UTC')",
         catchup=True, steps=20, gens=BOTH, **YEAR),
    dict(id="cron_interval_no_catchup", expr=f"CronDataIntervalTimetable('0 2 * * *', '{AMS}')",
         catchup=False, now="2024-07-15T13:37:00Z", steps=200, gens=BOTH, **YEAR),
    dict(id="cron_trigger_daily_ams", expr=f"CronTriggerTimetable('0 2 * * *', timezone='{AMS}')",
         catchup=True, steps=400, gens=BOTH, **YEAR),
    dict(id="cron_trigger_interval", gens=BOTH, catchup=True, steps=300, **YEAR,
         expr=f"CronTriggerTimetable('30 2 * * 1-5', timezone='{AMS}', "
              "interval=timedelta(hours=4))"),
    dict(id="cron_trigger_half_hourly_dst", gens=BOTH, catchup=True, steps=600,
         start="2024-10-25T00:00:00Z", end="2024-11-05T00:00:00Z",
         expr=f"CronTriggerTimetable('*/30 * * * *', timezone='{AMS}')"),
    dict(id="cron_trigger_no_catchup", expr=f"CronTriggerTimetable('0 2 * * *', timezone='{AMS}')",
         catchup=False, now="2024-07-15T13:37:00Z", steps=200, gens=BOTH, **YEAR),
    # no start date: run_immediately decides the first run (Airflow 3 only)
    dict(id="cron_trigger_first_run_near", catchup=True, steps=5, gens=ONLY_3,
         now="2024-07-15T00:03:00Z",
         expr=f"CronTriggerTimetable('0 2 * * *', timezone='{AMS}')"),
    dict(id="cron_trigger_first_run_far", catchup=True, steps=5, gens=ONLY_3,
         now="2024-07-15T10:00:00Z",
         expr=f"CronTriggerTimetable('0 2 * * *', timezone='{AMS}')"),
    dict(id="cron_trigger_run_immediately", catchup=True, steps=5, gens=ONLY_3,
         now="2024-07-15T10:00:00Z",
         expr=f"CronTriggerTimetable('0 2 * * *', timezone='{AMS}', run_immediately=True)"),
    dict(id="cron_trigger_run_immediately_delta", catchup=True, steps=5, gens=ONLY_3,
         now="2024-07-15T00:03:00Z", expr=f"CronTriggerTimetable('0 2 * * *', timezone='{AMS}', "
         "run_immediately=timedelta(minutes=1))"),
    dict(id="delta_interval_6h", expr="DeltaDataIntervalTimetable(timedelta(hours=6))",
         catchup=True, steps=1500, gens=BOTH, start="2024-01-01T01:30:00+01:00", end=YEAR["end"]),
    dict(id="delta_interval_no_catchup", expr="DeltaDataIntervalTimetable(timedelta(hours=6))",
         catchup=False, now="2024-07-15T13:37:00Z", steps=50, gens=BOTH,
         start="2024-01-01T01:30:00+01:00", end=YEAR["end"]),
    dict(id="delta_interval_months", expr="DeltaDataIntervalTimetable(relativedelta(months=1))",
         catchup=True, steps=20, gens=BOTH, start="2024-01-31T00:00:00Z", end=YEAR["end"]),
    dict(id="delta_trigger_daily", gens=BOTH, catchup=True, steps=400, **YEAR,
         expr="DeltaTriggerTimetable(timedelta(days=1), interval=timedelta(hours=1))"),
    dict(id="delta_trigger_no_catchup", gens=BOTH, catchup=False, steps=200, **YEAR,
         now="2024-07-15T13:37:00Z", expr="DeltaTriggerTimetable(timedelta(hours=5))"),
    dict(id="multiple_cron", gens=ONLY_3, catchup=True, steps=800, **YEAR,
         expr=f"MultipleCronTriggerTimetable('0 8 * * *', '30 17 * * 1-5', timezone='{AMS}')"),
    dict(id="multiple_cron_no_catchup", gens=ONLY_3, catchup=False, steps=400, **YEAR,
         now="2024-07-15T13:37:00Z",
         expr=f"MultipleCronTriggerTimetable('0 8 * * *', '30 17 * * 1-5', timezone='{AMS}', "
              "interval=timedelta(hours=1))"),
    dict(id="events", gens=BOTH, catchup=True, steps=10, **YEAR,
         expr="EventsTimetable([pendulum.datetime(2024, 3, 31, 2, 30, tz='Europe/Amsterdam'), "
              "pendulum.datetime(2024, 1, 5, tz='UTC'), pendulum.datetime(2025, 1, 5, tz='UTC'), "
              "pendulum.datetime(2024, 10, 27, 2, 30, tz='Europe/Amsterdam')], "
              "restrict_to_events=True)"),
    dict(id="events_no_catchup", gens=BOTH, catchup=False, steps=10, now="2024-02-01T00:00:00Z",
         expr="EventsTimetable([pendulum.datetime(2024, 1, 5, tz='UTC'), "
              "pendulum.datetime(2024, 6, 5, tz='UTC')])", **YEAR),
    dict(id="continuous", gens=BOTH, catchup=False, steps=5, now="2024-07-15T13:37:00Z",
         expr="ContinuousTimetable()", **YEAR),
    dict(id="once", gens=BOTH, catchup=True, steps=5, expr="OnceTimetable()", **YEAR),
    dict(id="null", gens=BOTH, catchup=True, steps=5, expr="NullTimetable()", **YEAR),
    # a Timetable subclass defined in a DAG file (Airflow's documented example), run as written
    dict(id="user_workday", gens=ONLY_3, catchup=True, steps=400, **YEAR,
         file=str(harness.ROOT / "fixtures/dags/scheduling/af3_sch_workday.py"),
         dag_id="af3_sch_workday"),
]  # fmt: skip
for _case in CASES:
    _case.setdefault("manual", DST_DAYS)


def _spec(generation: str) -> list[dict]:
    return [{k: v for k, v in c.items() if k != "gens"} for c in CASES if generation in c["gens"]]


def _airflow_walks(generation: str) -> dict:
    python = harness.airflow_python(generation)
    if not python.exists():
        pytest.skip(f"no Airflow {generation} environment at {python.parent.parent}")
    spec = {"cases": _spec(generation)}
    files = b"".join(Path(c["file"]).read_bytes() for c in spec["cases"] if "file" in c)
    key = hashlib.sha256(
        json.dumps(spec, sort_keys=True).encode()
        + files
        + RUNNER.read_bytes()
        + harness._airflow_version(generation).encode()
    ).hexdigest()[:24]
    cached = harness.cache_dir() / "timetables" / f"{key}.json"
    if cached.exists():
        return json.loads(cached.read_text())
    with tempfile.TemporaryDirectory() as home:
        (Path(home) / "spec.json").write_text(json.dumps(spec))
        out = Path(home) / "out.json"
        proc = subprocess.run(
            [str(python), "-I", str(RUNNER), str(Path(home) / "spec.json"), str(out)],
            env=harness._airflow_env(Path(home)),
            cwd=home,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0 and out.exists(), proc.stderr[-4000:]
        result = json.loads(out.read_text())
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(result))
    return result


@pytest.fixture(scope="module")
def airflow_walks():
    return {g: _airflow_walks(g) for g in BOTH}


def _iso(value) -> str | None:
    return None if value is None else pendulum.instance(value).in_timezone("UTC").isoformat()


def _our_walk(case: dict) -> dict:
    from datetime import timedelta

    from dateutil.relativedelta import relativedelta

    ns = {"pendulum": pendulum, "timedelta": timedelta, "relativedelta": relativedelta}
    ns.update({k: v for k, v in vars(ours).items() if k.endswith("Timetable")})
    if "file" in case:
        tt = _file_timetable(case["file"], case["dag_id"])
    else:
        tt = eval(case["expr"], ns)  # noqa: S307 - the case's own text, as the oracle reads it
    parse = lambda v: None if v is None else pendulum.parse(v)  # noqa: E731
    now = parse(case.get("now"))
    restriction = ours.TimeRestriction(parse(case.get("start")), parse(case.get("end")),
                                       case["catchup"])  # fmt: skip
    walk = ours.iter_dagrun_infos(tt, restriction, now=now, limit=case["steps"])
    runs = [
        [_iso(i.run_after), _iso(i.data_interval.start), _iso(i.data_interval.end),
         _iso(i.logical_date)]
        for i in walk
    ]  # fmt: skip
    manual = [
        [_iso(d.start), _iso(d.end)]
        for d in (
            tt.infer_manual_data_interval(run_after=pendulum.parse(w)) for w in case["manual"]
        )
    ]
    return {"runs": runs, "manual": manual}


def _file_timetable(path: str, dag_id: str):
    """The schedule of a DAG file's DAG, loaded through the shim as `dagshift run` does."""
    import dagshift.compat
    from dagshift.runtime.loader import load_file

    dagshift.compat.install()
    try:
        [flow] = [f for f in load_file(Path(path)) if f.name == dag_id]
    finally:
        dagshift.compat.uninstall()
    assert isinstance(flow.schedule, ours.Timetable)  # the shim's base class is the runtime's
    return flow.schedule


@pytest.mark.oracle
@pytest.mark.parametrize(
    "case, generation",
    [pytest.param(c, g, id=f"{c['id']}-af{g}") for c in CASES for g in c["gens"]],
)
def test_timetable_schedules_the_runs_airflow_schedules(case, generation, airflow_walks):
    theirs = airflow_walks[generation]["cases"][case["id"]]
    assert "error" not in theirs, theirs.get("error")
    mine = _our_walk(case)
    if case["id"] not in ("null",):
        assert mine["runs"], "the case schedules nothing: it would compare nothing"
    assert mine["runs"] == theirs["runs"]
    assert mine["manual"] == theirs["manual"]


def test_a_year_of_airflow_2_daily_runs_crosses_both_dst_changes():
    """The daily case really covers DST: its intervals are 23 h once and 25 h once."""
    case = next(c for c in CASES if c["id"] == "cron_interval_daily_ams")
    lengths = {
        (pendulum.parse(e) - pendulum.parse(s)).in_hours() for _, s, e, _ in _our_walk(case)["runs"]
    }
    assert lengths == {23, 24, 25}


def test_a_bad_cron_expression_fails_with_croniter_s_reason():
    with pytest.raises(ours.TimetableInvalid, match="invalid cron expression '61 \\* \\* \\* \\*'"):
        ours.CronTriggerTimetable("61 * * * *", timezone="UTC")


@pytest.mark.oracle
def test_a_converted_timetable_subclass_schedules_the_runs_airflow_schedules(
    airflow_walks, tmp_path
):
    """``dagshift migrate`` keeps the file's Timetable subclass as written, on the runtime's
    ``Timetable``, ``DataInterval`` and ``DagRunInfo``: the converted flow schedules what
    Airflow 3 schedules for the original."""
    from dagshift.converter.convert import convert_source

    case = next(c for c in CASES if c["id"] == "user_workday")
    result = convert_source(Path(case["file"]).read_text())
    assert result.status == "converted", result.findings
    assert "airflow" not in result.code
    converted = tmp_path / "af3_sch_workday.py"
    converted.write_text(result.code)
    theirs = airflow_walks["3"]["cases"]["user_workday"]
    mine = _our_walk({**case, "file": str(converted)})
    assert mine["runs"] and mine == {"runs": theirs["runs"], "manual": theirs["manual"]}
