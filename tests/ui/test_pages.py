"""Pages of a real `dagshift ui`: what they show, hostile strings shown as text in every one,
the flow page's versions and changes, and the vendored htmx matching its recorded checksum."""

import hashlib
import json
import re
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from dagshift.history.store import Store

from .conftest import HOSTILE_ID, dagshift, run_ids

RAW = ["<script>alert(", "</svg><script>", "<img src=x", "<b>bold</b>"]


def pages(server, db):
    (run_id,) = run_ids(db, "hostile")
    return {
        "home": "/",
        "runs": "/runs",
        "flow": "/flows/hostile",
        "run": f"/runs/{run_id}",
        "live": f"/runs/{run_id}/live",
        "task": f"/runs/{run_id}/tasks/{quote(HOSTILE_ID, safe='')}",
        "failed task": f"/runs/{run_id}/tasks/boom",
    }


def test_hostile_task_ids_errors_and_logs_are_shown_as_text_in_every_page(server, history):
    _, db, _ = history
    for name, path in pages(server, db).items():
        response = httpx.get(server.url + path)
        assert response.status_code == 200, (name, response.text[:500])
        body = response.text
        for raw in RAW:
            assert raw not in body, f"{raw!r} unescaped in the {name} page"
    task = httpx.get(server.url + pages(server, db)["task"]).text
    assert "&lt;/svg&gt;&lt;script&gt;alert(&#39;log&#39;)&lt;/script&gt;" in task
    run = httpx.get(server.url + pages(server, db)["run"]).text
    assert run.count("</svg>") == 2  # the graph's and the timeline's own, no other


def test_a_failed_tasks_page_shows_its_log_then_its_traceback(server, history):
    _, db, _ = history
    body = httpx.get(server.url + pages(server, db)["failed task"]).text
    log = body.index("[stdout] about to fail")
    assert (
        log
        < body.index("Traceback (most recent call last)")
        < body.rindex("ValueError: &lt;img src=x onerror=alert(1)&gt;")
    )


def test_home_counts_runs_by_state_and_lists_failed_ones(server, history):
    _, db, _ = history
    body = httpx.get(server.url + "/").text
    counts = dict((state, int(n)) for n, state in re.findall(r"<b>(\d+)</b> (\w+)</a>", body))
    assert counts == Store(db).run_counts()
    failed = body[body.index("<h2>Failed</h2>") : body.index("<h2>Next scheduled</h2>")]
    assert set(re.findall(r'href="/flows/(\w+)"', failed)) == {"hostile", "flaky"}


def test_the_run_page_draws_the_graph_with_states_and_a_live_region(server, history):
    _, db, _ = history
    (run_id,) = run_ids(db, "hostile")
    body = httpx.get(server.url + f"/runs/{run_id}").text
    assert re.search(r'<g class="node s-failed" data-task="boom">', body)
    assert '<polyline class="edge"' in body
    assert 'hx-trigger="every 1s"' not in body  # the run has ended: nothing to poll


def test_the_flow_page_shows_what_changed_between_versions(tmp_path):
    from .conftest import Server

    flow = tmp_path / "evolve.py"
    flow.write_text(
        "from dagshift import Flow, task\n@task\ndef a():\n    return 1\n"
        "@task\ndef b(x):\n    return x\nwith Flow('evolve') as flow:\n    b(a())\n"
    )
    db = tmp_path / "h.db"
    assert dagshift("register", flow, "--db", db, cwd=tmp_path).returncode == 0
    flow.write_text(
        "from dagshift import Flow, task\n@task\ndef a():\n    return 1\n"
        "@task\ndef c(x):\n    return x * 2\nwith Flow('evolve') as flow:\n    c(a())\n"
    )
    assert dagshift("register", flow, "--db", db, cwd=tmp_path).returncode == 0
    srv = Server(tmp_path, db)
    try:
        body = httpx.get(srv.url + "/flows/evolve").text
    finally:
        srv.stop()
    change = body[body.index("Version 1 → 2") :]
    assert "task added: <code>c</code>" in change
    assert "task removed: <code>b</code>" in change
    assert "edge added: <code>a → c</code>" in change
    assert "edge removed: <code>a → b</code>" in change
    assert "-def b(x):" in change and "+    return x * 2" in change


def test_an_unknown_run_or_flow_is_a_404_page(server):
    assert httpx.get(server.url + "/runs/feedbeef").status_code == 404
    response = httpx.get(server.url + "/flows/<nope>")
    assert response.status_code == 404 and "&lt;nope&gt;" in response.text


def test_the_vendored_htmx_matches_its_recorded_checksum():
    static = Path(__file__).parents[2] / "dagshift" / "ui" / "static"
    meta = json.loads((static / "htmx.json").read_text())
    digest = hashlib.sha256((static / "htmx.min.js").read_bytes()).hexdigest()
    assert (meta["package"], meta["license"], digest) == ("htmx.org", "0BSD", meta["sha256"])
    assert meta["version"].startswith("2.")
    assert "Zero-Clause BSD" in (static / "htmx.LICENSE").read_text()


@pytest.mark.parametrize("path", ["/static/htmx.min.js", "/static/app.css"])
def test_pages_load_nothing_from_elsewhere(server, path):
    assert httpx.get(server.url + path).status_code == 200
    body = httpx.get(server.url + "/").text
    assert not re.search(r'(src|href)="(https?:)?//', body)


def test_the_migration_report_is_shown_with_its_flows_linked_to_their_runs(tmp_path):
    from .conftest import Server

    dags = Path(__file__).parents[2] / "fixtures" / "dags"
    dag, bridging = dags / "af2_taskflow_etl.py", dags / "af2_bridged_operators.py"
    (tmp_path / "dags").mkdir()
    for source in (dag, bridging):
        (tmp_path / "dags" / source.name).write_text(source.read_text())
    report = tmp_path / "report.json"
    migrated = dagshift(
        "migrate",
        "dags",
        "--out",
        "flows",
        "--verify",
        "--verify-date",
        "2024-01-15",
        "--report",
        report,
        cwd=tmp_path,
        timeout=120,
    )
    assert migrated.returncode == 0, migrated.stderr
    db = tmp_path / "h.db"
    ran = dagshift("run", f"flows/{dag.name}", "--date", "2024-01-15", "--db", db, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    (flow_name,) = [r["flow"] for r in Store(db).list_runs()]
    srv = Server(tmp_path, db, "--report", str(report))
    try:
        body = httpx.get(srv.url + "/migration").text
        home = httpx.get(srv.url + "/").text
    finally:
        srv.stop()
    row = body[body.index(f'data-file="dags/{dag.name}"') :]
    row = row[: row.index("</tr>")]
    assert "converted" in row and "verified" in row
    assert f'href="/flows/{flow_name}"' in row
    assert 'href="/migration"' in home
    # the operators the converted file keeps as written, run side by side
    bridged = body[body.index(f'data-file="dags/{bridging.name}"') :]
    bridged = bridged[: bridged.index("</tr>")]
    assert "converted" in bridged and "verified" in bridged
    assert "<code>wait</code> (PythonSensor), <code>describe</code> (DescribeOperator)" in bridged


def test_home_lists_the_next_scheduled_run_of_each_scheduled_flow(tmp_path):
    from starlette.testclient import TestClient

    from dagshift.history.checkpoint import ResultStore
    from dagshift.history.query import next_scheduled
    from dagshift.ui.app import create_app

    flow = tmp_path / "daily.py"
    flow.write_text(
        "import datetime\nfrom dagshift import Flow, task\n@task\ndef a():\n    return 1\n"
        "with Flow('daily', schedule='30 6 * * *', "
        "start_date=datetime.datetime(2024, 1, 1)) as flow:\n    a()\n"
        "with Flow('manual') as other:\n    a()\n"
    )
    db = tmp_path / "h.db"
    assert dagshift("register", flow, "--db", db, cwd=tmp_path).returncode == 0
    store = Store(db)
    now = 1_717_200_000  # 2024-06-01T00:00:00Z
    assert next_scheduled(store, now=now) == [
        {"flow": "daily", "due": "2024-06-01T06:30:00+00:00", "schedule": "30 6 * * *"}
    ]
    client = TestClient(create_app(store, ResultStore(tmp_path / "r")), base_url="http://127.0.0.1")
    body = client.get("/").text
    section = body[body.index("<h2>Next scheduled</h2>") : body.index("<h2>Recent</h2>")]
    assert 'href="/flows/daily"' in section and "manual" not in section


def test_a_run_whose_process_died_says_so_and_is_not_polled(tmp_path):
    from starlette.testclient import TestClient

    from dagshift.history.checkpoint import ResultStore
    from dagshift.ui.app import create_app

    store = Store(tmp_path / "h.db")
    for run_id in ("dead", "alive", "waiting"):
        store.create_run(run_id, "f", logical_date="2024-01-01T00:00:00+00:00", params={})
    store.start_run("dead")
    store.start_run("alive")  # this very process
    store._change(
        "a process that is gone", ("UPDATE runs SET pid = ? WHERE run_id = 'dead'", (2**22 + 1,))
    )
    client = TestClient(create_app(store, ResultStore(tmp_path / "r")), base_url="http://127.0.0.1")
    dead = client.get("/runs/dead").text
    assert 'id="gone"' in dead and "is gone: resume it" in dead
    assert 'hx-trigger="every 1s"' not in dead
    for live in ("alive", "waiting"):  # running here, and queued (no process yet)
        body = client.get(f"/runs/{live}").text
        assert 'hx-trigger="every 1s"' in body and 'id="gone"' not in body


def test_hostile_paths_findings_and_flow_names_in_a_report_show_as_text_on_the_migration_page(
    tmp_path,
):
    from starlette.testclient import TestClient

    from dagshift.history.checkpoint import ResultStore
    from dagshift.ui.app import create_app

    evil = "</svg><script>alert('report')</script>"
    report = tmp_path / "report.json"
    entry = {
        "path": f"dags/{evil}.py",
        "status": "partial",
        "findings": [{"code": f"TODO({evil})", "line": 3, "message": f"<img src=x>{evil}"}],
        "verification": [{"flow": evil, "ok": False, "differences": []}],
        "bridged": [{"task_id": evil, "operator": evil}],
    }
    report.write_text(json.dumps({"summary": {"partial": 1}, "files": [entry]}))
    store = Store(tmp_path / "h.db")
    app = create_app(store, ResultStore(tmp_path / "res"), report=report)
    body = TestClient(app, base_url="http://127.0.0.1").get("/migration").text
    assert "<script>alert(" not in body and "<img src=x" not in body
    shown = "&lt;/svg&gt;&lt;script&gt;alert(&#39;report&#39;)&lt;/script&gt;"
    # the file (row and its key), the finding's code and text, the flow, the bridged task and
    # its operator
    assert body.count(shown) == 7
