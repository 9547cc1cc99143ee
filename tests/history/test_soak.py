"""Soak: two ``serve`` processes on one history, 50 flows catching up 2,000 runs, killed with
SIGKILL at random moments five times and restarted each time, while ``dagshift run`` and
``dagshift runs`` use the same history. Every run ends exactly once: none lost, none left
running, no logical date run twice, no task run again within one attempt."""

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter

import pytest

from .conftest import ROOT, dagshift, wait_for

FLOWS_PER_FILE = 5
FILES = 10
TIMES = 40  # hourly times per flow: 50 x 40 = 2,000 runs
KILLS = 5


def _write_flows(folder, log):
    for f in range(FILES):
        flows = "\n".join(textwrap.dedent(f"""
                with Flow("soak_{f}_{i}", schedule="@hourly", start_date=START, end_date=END,
                          catchup=True, max_active_runs=4) as flow_{i}:
                    step.override(task_id="c")(step.override(task_id="b")(step.override(
                        task_id="a")(0)))
                """) for i in range(FLOWS_PER_FILE))
        (folder / f"soak_{f}.py").write_text(textwrap.dedent(f"""
            import datetime
            import os
            import time
            from dagshift import Flow, get_run_context, task

            START = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
            END = START + datetime.timedelta(hours={TIMES - 1})
            LOG = {str(log)!r}

            @task
            def step(x):
                ctx = get_run_context()
                line = f"{{ctx['run_id']}} {{ctx['task_id']}} {{ctx['try_number']}}\\n"
                fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
                os.write(fd, line.encode())
                os.close(fd)
                time.sleep(0.002)
                return x + 1
            """) + flows)


def _serve(args, cwd, log):
    """A ``dagshift serve`` whose output goes to a file (a pipe nobody reads would fill up and
    stop it)."""
    out = open(log, "ab")  # noqa: SIM115 (closed by the test once the process ends)
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagshift", *map(str, args)],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    proc.log = out
    return proc


def _rows(db):
    with sqlite3.connect(db, timeout=30) as con:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute("SELECT * FROM runs")]


@pytest.mark.slow
def test_serve_killed_five_times_under_load_loses_and_repeats_no_run(tmp_path):
    folder = tmp_path / "flows"
    folder.mkdir()
    log = tmp_path / "executions.log"
    _write_flows(folder, log)
    db = tmp_path / "h.db"
    other = tmp_path / "other.py"
    other.write_text(textwrap.dedent("""
        from dagshift import Flow, task

        @task
        def hello():
            return "hi"

        with Flow("other") as flow:
            hello()
        """))
    args = ("serve", folder, "--db", db, "--poll", "0.2", "--max-active", "8", "--grace", "0")
    serve_log = tmp_path / "serve.log"
    servers = [_serve(args, tmp_path, serve_log) for _ in range(2)]
    locked: list[str] = []
    done = threading.Event()

    def meanwhile():  # other commands on the same history see no "database is locked"
        while not done.is_set():
            for out in (
                dagshift("run", other, "--db", db, cwd=tmp_path, timeout=120),
                dagshift("runs", "--json", "--db", db, cwd=tmp_path, timeout=120),
            ):
                if out.returncode != 0 or "locked" in out.stderr:
                    locked.append(out.stderr)

    side = threading.Thread(target=meanwhile)
    side.start()
    rng = random.Random(20261203)
    try:
        for _ in range(KILLS):
            victim = rng.randrange(2)
            begun = serve_log.read_text().count("started run")
            wait_for(  # kill a serve that is at work, not one still importing
                lambda b=begun: serve_log.read_text().count("started run") > b + 20,
                timeout=60,
                what="serve to start runs",
            )
            time.sleep(rng.uniform(0.05, 0.5))
            os.kill(servers[victim].pid, signal.SIGKILL)
            servers[victim].wait(timeout=10)
            servers[victim].log.close()
            servers[victim] = _serve(args, tmp_path, serve_log)

        def finished():
            rows = [r for r in _rows(db) if r["flow"].startswith("soak_")]
            return len(rows) == FILES * FLOWS_PER_FILE * TIMES and all(
                r["state"] == "success" for r in rows
            )

        wait_for(finished, timeout=240, what="every soak run to succeed")
    finally:
        done.set()
        side.join()
        for proc in servers:
            proc.send_signal(signal.SIGTERM)
        for proc in servers:
            proc.wait(timeout=60)
            proc.log.close()

    rows = [r for r in _rows(db) if r["flow"].startswith("soak_")]
    keys = Counter((r["flow"], r["logical_date"]) for r in rows)
    assert len(keys) == FILES * FLOWS_PER_FILE * TIMES  # none lost
    assert max(keys.values()) == 1  # no logical date started twice, by either serve
    assert {r["state"] for r in rows} == {"success"}  # none stuck as running
    attempts = {r["run_id"]: r["attempts"] for r in rows}
    resumed = [run for run, n in attempts.items() if n > 1]
    assert 0 < len(resumed) <= KILLS * 8  # kills did land mid-run; each took over once
    executions = Counter(tuple(line.split()[:2]) for line in log.read_text().splitlines())
    assert {run for run, _ in executions} >= set(attempts)
    for (run, task_id), n in executions.items():
        if run in attempts:  # a task runs at most once per attempt of its run
            assert n <= attempts[run], (run, task_id, n)
    again = sum(n - 1 for (run, _), n in executions.items() if run in attempts)
    assert again <= KILLS * 8 * 3  # only tasks cut short by a kill ran again
    assert not locked, locked[:3]
    other_runs = [r for r in _rows(db) if r["flow"] == "other"]
    assert other_runs and {r["state"] for r in other_runs} == {"success"}
    shown = json.loads(dagshift("runs", "--json", "--db", db, cwd=tmp_path).stdout)
    assert shown  # the history still reads
