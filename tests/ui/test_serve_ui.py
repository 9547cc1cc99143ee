"""`dagshift serve --ui PORT`: the scheduler and the UI in one process."""

import os
import signal
import subprocess
import sys
import time

import httpx

from .conftest import FLOWS, ROOT, free_port


def test_serve_with_ui_shows_the_flows_it_schedules_and_stops_on_sigint(tmp_path):
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "adder.py").write_text(FLOWS["adder.py"])
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagshift", "serve", "flows", "--db", "h.db", "--ui", str(port)]
        + ["--poll", "0.2"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                body = httpx.get(f"http://127.0.0.1:{port}/", timeout=2).text
                if "adder" in body:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.2)
        run = httpx.post(
            f"http://127.0.0.1:{port}/graphql",
            json={"query": 'mutation { triggerRun(flow: "adder", parameters: {n: 2}) { id } }'},
        ).json()["data"]["triggerRun"]
        query = "query($id: String!) { run(id: $id) { state } }"
        while True:
            got = httpx.post(
                f"http://127.0.0.1:{port}/graphql",
                json={"query": query, "variables": {"id": run["id"]}},
            ).json()
            if got["data"]["run"]["state"] == "success":
                break
            assert time.monotonic() < deadline + 30
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
