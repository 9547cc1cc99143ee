"""Run DAG files in real Apache Airflow and write their results as JSON (the oracle's inside half).

This file is executed by the python of an Airflow environment (``.venv`` for Airflow 3,
``.venv-airflow2`` for Airflow 2.11), never imported by the test suite, and it must never see
dagshift: ``harness.py`` starts it with ``python -I`` (no user site, no PYTHONPATH, no script
directory on sys.path) and the first thing it does is refuse any import of ``dagshift``.

Usage: ``python -I airflow_runner.py SPEC.json OUT.json``. The spec names the DAG files (already
copied into ``AIRFLOW__CORE__DAGS_FOLDER`` by the harness) and the runs to make; each DAG of a
file is run with ``dag.test()`` at the run's logical date. Each file is parsed on its own first
and a file that does not import is moved out of the DAGs folder, because on Airflow 3 one broken
file in that folder fails every ``dag.test()``; its runs report the import error instead.

Output: ``{"airflow_version": ..., "runs": [{"dags": {dag_id: {"state", "tasks"}}} |
{"error": "..."}]}`` in the order of the spec's runs, every result JSON-normalized like
``dagshift run --json`` (``json.loads(json.dumps(v, default=repr))``).
"""

from __future__ import annotations

import importlib.abc
import json
import os
import shutil
import sys
import traceback


class _NoDagshift(importlib.abc.MetaPathFinder):
    """The oracle must be plain Airflow: importing dagshift here is a bug in the harness."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "dagshift" or fullname.startswith("dagshift."):
            raise ImportError("the Airflow oracle must not import dagshift")
        return None


sys.meta_path.insert(0, _NoDagshift())


def _normalize(value):
    return json.loads(json.dumps(value, default=repr))


def _parse_date(text):
    import pendulum

    return pendulum.parse(text, tz="UTC")


def _load_file(path, generation):
    """The DAGs of one file, in the order the file defines them, or the import error."""
    if generation == "2":
        from airflow.models.dagbag import DagBag

        bag = DagBag(dag_folder=path, include_examples=False, safe_mode=False)
    else:
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=path, safe_mode=False)
    if bag.import_errors:
        return None, "\n".join(str(e) for e in bag.import_errors.values())
    return list(bag.dags.values()), None


def _mapped_state(states):
    """One state for a mapped task, the way its downstream tasks see it."""
    for state in ("failed", "upstream_failed"):
        if state in states:
            return state
    if "success" in states:
        return "success"
    return states[0]


def _xcom_values(dag_id, run_id, generation):
    """``{(task_id, map_index): return value}`` of one DAG run."""
    from airflow.utils.session import create_session

    values = {}
    with create_session() as session:
        if generation == "2":
            from airflow.models.xcom import XCom

            rows = session.query(XCom).filter(
                XCom.dag_id == dag_id, XCom.run_id == run_id, XCom.key == "return_value"
            )
            for row in rows:
                values[(row.task_id, row.map_index)] = row.value
        else:
            from airflow.models.xcom import XComModel
            from airflow.sdk.serde import deserialize

            rows = session.query(XComModel).filter(
                XComModel.dag_id == dag_id,
                XComModel.run_id == run_id,
                XComModel.key == "return_value",
            )
            for row in rows:
                # A task's value arrives through the execution API already serialized by the
                # task SDK (serde) and is stored as is; read it back the way a pulling task does.
                # XComModel.deserialize_value would json.loads it once more, so a returned str
                # that looks like JSON ("1", "[1, 2]") would come back as an int or a list.
                try:
                    value = None if row.value is None else deserialize(row.value)
                except Exception:  # not serde's shape: a value set by Airflow itself
                    value = XComModel.deserialize_value(row)
                values[(row.task_id, row.map_index)] = value
    return values


def _run_dag(dag, logical_date, conf, generation):
    if generation == "2":
        dr = dag.test(execution_date=logical_date, run_conf=conf or None)
    else:
        dr = dag.test(logical_date=logical_date, run_conf=conf or None)
    values = _xcom_values(dag.dag_id, dr.run_id, generation)
    instances = {}
    for ti in dr.get_task_instances():
        instances.setdefault(ti.task_id, []).append(ti)
    tasks = {}
    for task_id in dag.task_ids:
        tis = sorted(instances.get(task_id, []), key=lambda ti: ti.map_index)
        states = [str(getattr(ti.state, "value", ti.state)) for ti in tis]
        if not tis:
            tasks[task_id] = {"state": None, "result": None}
        elif len(tis) == 1 and tis[0].map_index < 0:
            tasks[task_id] = {"state": states[0], "result": values.get((task_id, -1))}
        else:
            tasks[task_id] = {
                "state": _mapped_state(states),
                "result": [values.get((task_id, ti.map_index)) for ti in tis],
            }
    return {"state": str(getattr(dr.state, "value", dr.state)), "tasks": _normalize(tasks)}


def main(spec_path, out_path):
    with open(spec_path) as f:
        spec = json.load(f)
    generation = spec["generation"]
    dags_folder = os.environ["AIRFLOW__CORE__DAGS_FOLDER"]
    aside = os.path.join(os.path.dirname(dags_folder), "import_errors")
    os.makedirs(aside, exist_ok=True)

    loaded = {}
    for name in spec["files"]:
        path = os.path.join(dags_folder, name)
        dags, error = _load_file(path, generation)
        if error is not None:
            os.makedirs(os.path.dirname(os.path.join(aside, name)), exist_ok=True)
            shutil.move(path, os.path.join(aside, name))
        loaded[name] = (dags, error)

    runs = []
    for run in spec["runs"]:
        dags, error = loaded[run["file"]]
        if error is not None:
            runs.append({"error": f"import error in {run['file']}:\n{error}"})
            continue
        if not dags:
            runs.append({"error": f"no DAG in {run['file']}"})
            continue
        try:
            logical_date = _parse_date(run["logical_date"])
            results = {d.dag_id: _run_dag(d, logical_date, run["conf"], generation) for d in dags}
        except Exception:  # one run's failure must not hide the others' results
            runs.append({"error": traceback.format_exc()})
        else:
            runs.append({"dags": results})

    import airflow

    assert "dagshift" not in sys.modules, "dagshift was imported into the Airflow oracle"
    with open(out_path, "w") as f:
        json.dump({"airflow_version": airflow.__version__, "runs": runs}, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
