"""A real history and a real `dagshift ui` process for the UI tests.

The history holds a failed run of a flow whose task id, log and error are hostile HTML, and
flows to start from the UI: one taking a parameter, one that runs until cancelled, one that
fails until a file is removed (to resume)."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).parents[2]
HOSTILE_ID = "<script>alert('id')</script></svg>"

FLOWS = {
    "hostile.py": f"""
from dagshift import Flow, task

@task(name={HOSTILE_ID!r})
def evil():
    print("</svg><script>alert('log')</script>")
    return "<b>bold</b>"

@task
def boom(x):
    print("about to fail")
    raise ValueError("<img src=x onerror=alert(1)>")

with Flow("hostile") as flow:
    boom(evil())
""",
    "adder.py": """
from dagshift import Flow, Parameter, task

@task
def add(n):
    print(f"adding one to {n}")
    return n + 1

@task
def double(x):
    return 2 * x

with Flow("adder") as flow:
    double(add(Parameter("n", default=1)))
""",
    "forever.py": """
import time
from dagshift import Flow, task
from dagshift.runtime.cancel import check_cancelled

@task
def start():
    return 1

@task
def spin(x):
    for _ in range(12000):  # two minutes at most
        check_cancelled()
        time.sleep(0.01)

@task
def never(x):
    return x

with Flow("forever") as flow:
    never(spin(start()))
""",
    "flaky.py": """
import os
from pathlib import Path
from dagshift import Flow, task

@task
def fetch():
    return 20

@task
def check(x):
    if Path(os.environ["FLAKY_FILE"]).exists():
        raise RuntimeError("the flaky file is still there")
    return x + 1

with Flow("flaky") as flow:
    check(fetch())
""",
}


def dagshift(*args, cwd, env=None, timeout=60):
    return subprocess.run(
        [sys.executable, "-m", "dagshift", *map(str, args)],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A `dagshift ui` subprocess; ``url`` is where it answers."""

    def __init__(self, folder: Path, db: Path, *args: str, env=None, host="127.0.0.1"):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dagshift", "ui", "--db", str(db), "--port", str(self.port)]
            + ["--host", host, *args],
            cwd=folder,
            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        self.banner = self.proc.stderr.readline()
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(self.url + "/static/app.css", timeout=2)
                break
            except httpx.TransportError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"dagshift ui did not start: {self.banner}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ui-history")
    for name, source in FLOWS.items():
        (folder / name).write_text(source)
    flaky = folder / "flaky.marker"
    flaky.write_text("")
    env = {"FLAKY_FILE": str(flaky)}
    db = folder / "dagshift.db"
    assert dagshift("run", "hostile.py", "--db", db, cwd=folder).returncode == 1
    assert dagshift("run", "flaky.py", "--db", db, cwd=folder, env=env).returncode == 1
    assert dagshift("run", "adder.py", "--db", db, "--param", "n=4", cwd=folder).returncode == 0
    registered = dagshift("register", "forever.py", "--db", db, cwd=folder)
    assert registered.returncode == 0, registered.stderr
    return folder, db, env


@pytest.fixture(scope="module")
def server(history):
    folder, db, env = history
    srv = Server(folder, db, env=env)
    yield srv
    srv.stop()


def run_ids(db: Path, flow: str) -> list[str]:
    from dagshift.history.store import Store

    return [r["run_id"] for r in Store(db).list_runs(flow)]
