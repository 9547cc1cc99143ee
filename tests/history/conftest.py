"""Helpers for history tests: the real `dagshift` command in a subprocess, a clock moved by
hand, and files that tasks wait on (so a test controls where a run is, without sleeping)."""

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pendulum
import pytest

ROOT = Path(__file__).parents[2]


def dagshift(*args, cwd, env=None, timeout=60, **kwargs):
    """Run ``python -m dagshift ARGS`` and return the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", "dagshift", *map(str, args)],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )


def spawn(*args, cwd, env=None):
    """Start ``python -m dagshift ARGS`` without waiting."""
    return subprocess.Popen(
        [sys.executable, "-m", "dagshift", *map(str, args)],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def spoil_result(db, run_id, task_id, data=b"not a pickle"):
    """Overwrite the stored result of a recorded task with ``data``, where the history keeps
    it (in the database, or in a checkpoint file); return that place as messages name it."""
    with sqlite3.connect(db) as con:
        [uri] = con.execute(
            "SELECT result_uri FROM task_runs WHERE run_id = ? AND task_id = ?", (run_id, task_id)
        ).fetchone()
        if uri == "db:":
            con.execute(
                "UPDATE results SET payload = ? WHERE run_id = ? AND task_id = ?",
                (data, run_id, task_id),
            )
            return str(db)
    with open(uri, "wb") as fh:
        fh.write(data)
    return uri


def wait_for(condition, timeout=30.0, what="condition"):
    """Poll ``condition`` until it holds (a marker written by another process)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class FakeClock:
    """A clock the test moves: ``now()`` returns what the test set."""

    def __init__(self, start):
        self.current = pendulum.instance(start).in_tz("UTC")
        self.waits = []

    def now(self):
        return self.current

    def advance(self, **delta):
        self.current = self.current + pendulum.duration(**delta)

    def set(self, when):
        self.current = pendulum.instance(when).in_tz("UTC")

    def wait(self, seconds, wake: threading.Event):
        self.waits.append(seconds)
        wake.wait(0.01)


# Holds an exclusive lock on the database argv[1] from writing argv[2] until argv[3] exists.
HOLD_LOCK = """
import sqlite3, sys, time, pathlib
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
pathlib.Path(sys.argv[2]).write_text("locked")
while not pathlib.Path(sys.argv[3]).exists():
    time.sleep(0.01)
db.execute("COMMIT")
"""


@pytest.fixture
def db(tmp_path):
    return tmp_path / "history" / "dagshift.db"


# A flow whose tasks count their runs in files and wait for a "release" file before ending,
# so a test knows which tasks have finished when it kills or stops a process.
GATED_FLOW = """
import datetime, os, time
from pathlib import Path
from dagshift import Flow, Parameter, task, get_run_context

MARKS = Path(os.environ["MARKS"])

def count(name):
    # One byte appended per run: runs of the same flow in one process count without a race.
    path = MARKS / f"{name}.count"
    with open(path, "a") as fh:
        fh.write("x")
    return path.stat().st_size

def gate(name):
    (MARKS / f"{name}.started").write_text("")
    while not (MARKS / f"{name}.release").exists():
        time.sleep(0.01)

@task
def first():
    return {"token": count("first") * 100 + 7}

@task
def side():
    count("side")
    return "side-done"

@task
def second(a):
    count("second")
    gate("second")
    return a["token"] + 1

@task
def third(b, s):
    count("third")
    return [b, s, get_run_context()["run_id"]]

with Flow("gated", schedule=SCHEDULE, **FLOW_OPTIONS) as flow:
    third(second(first()), side())
"""


def write_gated(folder: Path, schedule=None, **flow_options) -> Path:
    path = folder / "gated.py"
    source = GATED_FLOW.replace("SCHEDULE", repr(schedule)).replace(
        "**FLOW_OPTIONS", "**" + repr(flow_options)
    )
    path.write_text(source)
    return path


def counts(marks: Path) -> dict[str, int]:
    return {p.stem: p.stat().st_size for p in marks.glob("*.count")}


# An Airflow 2 DAG file as users have them: each run writes its `ds` into $MARKS.
LEGACY_DAG = """
import os
from datetime import datetime
from pathlib import Path
from airflow import DAG
from airflow.operators.python import PythonOperator

def hello(ds, **context):
    Path(os.environ["MARKS"], "ds-" + ds).write_text(context["run_id"])
    return ds

with DAG(
    "legacy_daily",
    schedule_interval="@daily",
    start_date=datetime(2024, 1, 1),
    end_date=datetime(2024, 1, 3),
    catchup=True,
    max_active_runs=1,
) as dag:
    PythonOperator(task_id="hello", python_callable=hello)
"""
