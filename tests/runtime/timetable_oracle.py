"""Walk Airflow's own timetables and print their runs as JSON (the oracle's inside half).

Executed by the python of an Airflow environment with ``python -I`` (never imported by the
suite, never sees dagshift). Usage: ``python -I timetable_oracle.py SPEC.json OUT.json``.

Each case of the spec names a timetable as a Python expression over Airflow's timetable
classes (or ``file`` + ``dag_id``: the timetable of a DAG file's DAG), a restriction, an
optional pinned "now" (Airflow's ``utcnow`` is replaced for the case, as the scheduler's clock
would read) and run_after instants for ``infer_manual_data_interval``. Output per case:
``{"runs": [[run_after, start, end, logical_date], ...], "manual": [[start, end], ...]}`` or
``{"error": "..."}``, every instant ISO 8601 in UTC.
"""

import datetime
import importlib
import json
import runpy
import sys
import traceback

_pinned = [None]


def _now(*_args, **_kwargs):
    return _pinned[0] or datetime.datetime.now(datetime.UTC)


class _Time:
    @staticmethod
    def time():
        return _now().timestamp()


def _pin_clock():
    for name in ("interval", "trigger", "simple", "events"):
        module = importlib.import_module(f"airflow.timetables.{name}")
        if hasattr(module, "utcnow"):
            module.utcnow = _now
        if hasattr(module, "time"):
            module.time = _Time
        if hasattr(module, "timezone") and hasattr(module.timezone, "utcnow"):
            module.timezone.utcnow = _now


def _namespace():
    import pendulum
    from dateutil.relativedelta import relativedelta

    ns = {"pendulum": pendulum, "timedelta": datetime.timedelta, "relativedelta": relativedelta}
    for name in ("interval", "trigger", "simple", "events"):
        module = importlib.import_module(f"airflow.timetables.{name}")
        ns.update({k: v for k, v in vars(module).items() if k.endswith("Timetable")})
    return ns


def _iso(value):
    import pendulum

    return None if value is None else pendulum.instance(value).in_timezone("UTC").isoformat()


def _timetable(case, ns):
    if "expr" in case:
        return eval(case["expr"], dict(ns))  # noqa: S307 - the spec is the test's own text
    found = runpy.run_path(case["file"])
    for value in found.values():
        if getattr(value, "dag_id", None) == case["dag_id"]:
            return value.timetable
    raise LookupError(f"{case['file']} defines no DAG {case['dag_id']!r}")


def _walk(case, ns):
    import pendulum
    from airflow.timetables.base import TimeRestriction

    tt = _timetable(case, ns)
    parse = lambda v: None if v is None else pendulum.parse(v)  # noqa: E731
    _pinned[0] = parse(case.get("now"))
    restriction = TimeRestriction(parse(case.get("start")), parse(case.get("end")), case["catchup"])
    runs, last = [], None
    for _ in range(case["steps"]):
        info = tt.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
        if info is None or info.data_interval is None or info.data_interval == last:
            break
        di = info.data_interval
        runs.append([_iso(info.run_after), _iso(di.start), _iso(di.end), _iso(info.logical_date)])
        last = di
    manual = []
    for when in case.get("manual", []):
        di = tt.infer_manual_data_interval(run_after=pendulum.parse(when))
        manual.append([_iso(di.start), _iso(di.end)])
    return {"runs": runs, "manual": manual}


def main(spec_path, out_path):
    import airflow

    _pin_clock()
    ns = _namespace()
    out = {"airflow_version": airflow.__version__, "cases": {}}
    for case in json.load(open(spec_path))["cases"]:
        try:
            out["cases"][case["id"]] = _walk(case, ns)
        except Exception:
            out["cases"][case["id"]] = {"error": traceback.format_exc(limit=4)}
    with open(out_path, "w") as fh:
        json.dump(out, fh)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
