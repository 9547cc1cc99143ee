"""Runs of one DAG at several dates, in order, in one real Airflow database (``depends_on_past``).

Executed by the python of an Airflow environment (see ``airflow_runner.py``, whose rules it
follows: ``python -I``, never dagshift). Usage: ``python -I past_runner.py DAG_FILE OUT.json
GENERATION PATIENCE DATE...``. Each date is one ``dag.test()``. A task whose past is not met
never runs and ``dag.test()`` then loops forever ("No tasks to run"), as the scheduler would
keep the run running: a run still running after PATIENCE seconds is reported as it stands in
the database (the run ``running``, the waiting tasks without a state) and is the last one.

Output: ``[{"date", "state", "tasks": {task_id: state or null}}, ...]``.
"""

from __future__ import annotations

import json
import os
import sys
import threading


def _states(dag, logical_date, generation):
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        field = DagRun.execution_date if generation == "2" else DagRun.logical_date
        dr = session.query(DagRun).filter(DagRun.dag_id == dag.dag_id, field == logical_date).one()
        tasks = {ti.task_id: ti.state for ti in dr.get_task_instances(session=session)}
        state = dr.state
    value = lambda s: None if s is None else str(getattr(s, "value", s))  # noqa: E731
    return value(state), {t: value(tasks.get(t)) for t in dag.task_ids}


def main(dag_file, out_path, generation, patience, dates):
    import pendulum

    if generation == "2":
        from airflow.models.dagbag import DagBag

        bag = DagBag(dag_folder=dag_file, include_examples=False, safe_mode=False)
    else:
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=dag_file, safe_mode=False)
    assert not bag.import_errors, bag.import_errors
    (dag,) = bag.dags.values()
    out = []

    def finish():
        with open(out_path, "w") as f:
            json.dump(out, f)
        sys.stdout.flush()
        os._exit(0)  # dag.test() may still be looping: it never returns by itself

    key = "execution_date" if generation == "2" else "logical_date"
    for text in dates:
        when = pendulum.parse(text, tz="UTC")
        done = threading.Event()

        def watch(when=when, text=text, done=done):
            # dag.test() must run in the main thread (the task runner sets signal handlers)
            if not done.wait(float(patience)):
                state, tasks = _states(dag, when, generation)
                out.append({"date": text, "state": state, "tasks": tasks})
                finish()

        threading.Thread(target=watch, daemon=True).start()
        dag.test(**{key: when})
        done.set()
        state, tasks = _states(dag, when, generation)
        out.append({"date": text, "state": state, "tasks": tasks})
    finish()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
