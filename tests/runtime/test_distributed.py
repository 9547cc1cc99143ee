"""Running on a real dask.distributed cluster on loopback."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from dagshift import Flow, task
from dagshift.runtime.distributed import SerializationError

pytestmark = pytest.mark.slow
FLOWS = Path(__file__).parents[2] / "fixtures" / "flows"


@task
def make(n):
    return list(range(n))


@task
def size(values):
    return len(values)


def test_results_stay_on_the_workers_unless_asked_for(cluster_client):
    with Flow("big") as flow:
        size(make(100_000))
    run = flow.run(cluster=cluster_client)  # default: the leaves' results only
    assert run.tasks["make"].state == "success" and run.tasks["make"].result is None
    assert run.tasks["size"].result == 100_000
    run = flow.run(cluster=cluster_client, results=["make"])
    assert len(run.tasks["make"].result) == 100_000 and run.tasks["size"].result is None


def test_concurrent_runs_of_one_flow_do_not_share_results(cluster_client):
    with Flow("same") as flow:
        size(make(3))
    runs = [flow.run(cluster=cluster_client, results="all") for _ in range(2)]
    assert [r.tasks["size"].result for r in runs] == [3, 3]
    assert runs[0].tasks["make"].start != runs[1].tasks["make"].start


def test_an_argument_that_cannot_be_serialized_names_the_task_and_the_object(cluster_client):
    lock = threading.Lock()
    with Flow("unsendable") as flow:
        size.override(task_id="uses_lock")([lock])
    with pytest.raises(SerializationError, match=r"task 'uses_lock'.*argument 0.*lock"):
        flow.run(cluster=cluster_client)


@task
def slow_square(i):
    time.sleep(1.0)
    return i * i


@task
def add_up(parts):
    return sum(parts)


def test_losing_a_worker_mid_run_does_not_lose_the_run():
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=2, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        with Flow("resilient") as flow:
            add_up([slow_square(i) for i in range(8)])
        pids = list(client.run(os.getpid).values())
        box = {}
        runner = threading.Thread(target=lambda: box.update(run=flow.run(cluster=client)))
        runner.start()
        deadline = time.time() + 10
        while time.time() < deadline and not any(
            client.processing().values()
        ):  # wait until tasks are running on the workers
            time.sleep(0.05)
        time.sleep(0.3)
        os.kill(pids[0], signal.SIGKILL)
        runner.join(timeout=60)
        assert not runner.is_alive()
    run = box["run"]
    assert run.state == "success"
    assert run.tasks["add_up"].result == sum(i * i for i in range(8))


def test_dagshift_run_on_a_local_cluster_gives_the_same_json_as_threads():
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[2]))

    def run(*extra):
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "dagshift",
                "run",
                str(FLOWS / "etl.py"),
                "--json",
                "--date",
                "2024-01-15",
                *extra,
            ],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        return json.loads(proc.stdout)

    assert run("--cluster", "local:2") == run()
