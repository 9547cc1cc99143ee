"""The GraphQL API of a real `dagshift ui` process, over HTTP and websockets."""

import asyncio
import json
import time

import httpx
import pytest
import websockets

from dagshift.history.store import Store

from .conftest import HOSTILE_ID, run_ids


def gql(server, query, **variables):
    response = httpx.post(
        server.url + "/graphql", json={"query": query, "variables": variables}, timeout=30
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_flows_list_their_versions_and_task_counts(server):
    data = gql(server, "{ flows { name versions { version created tasks } } }")["data"]
    flows = {f["name"]: f["versions"] for f in data["flows"]}
    assert set(flows) >= {"hostile", "adder", "flaky", "forever"}
    assert [(v["version"], v["tasks"]) for v in flows["adder"]] == [(1, 2)]
    assert flows["adder"][0]["created"].startswith("20")


def test_a_failed_run_has_its_tasks_error_result_and_logs(server, history):
    _, db, _ = history
    (run_id,) = run_ids(db, "hostile")
    query = """query($id: String!) { run(id: $id) { id flow state trigger logicalDate start end
        tasks { id state tries duration error result }
        logs(task: "boom") { seq task stream text } } }"""
    run = gql(server, query, id=run_id)["data"]["run"]
    assert (run["id"], run["flow"], run["state"], run["trigger"]) == (
        run_id,
        "hostile",
        "failed",
        "manual",
    )
    tasks = {t["id"]: t for t in run["tasks"]}
    assert tasks[HOSTILE_ID]["result"] == "'<b>bold</b>'"
    assert tasks["boom"]["error"] == "ValueError: <img src=x onerror=alert(1)>"
    assert [(line["task"], line["text"]) for line in run["logs"]] == [("boom", "about to fail")]


def test_logs_page_with_after(server, history):
    _, db, _ = history
    (run_id,) = run_ids(db, "hostile")
    query = (
        "query($id: String!, $after: Int!) { run(id: $id) { logs(after: $after) { seq text } } }"
    )
    every = gql(server, query, id=run_id, after=0)["data"]["run"]["logs"]
    assert len(every) == 2
    rest = gql(server, query, id=run_id, after=every[0]["seq"])["data"]["run"]["logs"]
    assert rest == every[1:]


def test_runs_come_in_pages_newest_first_with_a_cursor(tmp_path):
    from dagshift.history.checkpoint import ResultStore
    from dagshift.ui.app import create_app

    store = Store(tmp_path / "h.db")
    for i in range(7):
        store.create_run(f"r{i}", "f", logical_date=f"2024-01-0{i + 1}", params={})
    store.create_run("other", "g", logical_date="2024-01-01", params={})
    from starlette.testclient import TestClient

    client = TestClient(
        create_app(store, ResultStore(tmp_path / "res")), base_url="http://127.0.0.1"
    )
    query = 'query($after: String) { runs(flow: "f", limit: 3, after: $after) { id } }'
    pages, after = [], None
    while True:
        got = client.post("/graphql", json={"query": query, "variables": {"after": after}}).json()
        page = [r["id"] for r in got["data"]["runs"]]
        if not page:
            break
        pages.append(page)
        after = page[-1]
    assert pages == [["r6", "r5", "r4"], ["r3", "r2", "r1"], ["r0"]]
    over = client.post("/graphql", json={"query": "{ runs(limit: 5000) { id } }"}).json()
    assert "limit must be between 0 and 200" in over["errors"][0]["message"]


def test_queries_with_too_many_aliases_or_tokens_are_refused(server):
    aliases = "{ " + " ".join(f"a{i}: flows {{ name }}" for i in range(31)) + " }"
    errors = gql(server, aliases)["errors"]
    assert "aliases" in errors[0]["message"]
    tokens = "{ flows { " + "name " * 2100 + "} }"
    errors = gql(server, tokens)["errors"]
    assert "token" in errors[0]["message"].lower()
    fine = "{ " + " ".join(f"a{i}: flows {{ name }}" for i in range(30)) + " }"
    assert "errors" not in gql(server, fine)


def test_trigger_run_starts_a_run_with_a_parameter_and_it_succeeds(server, history):
    _, db, _ = history
    mutation = """mutation { triggerRun(flow: "adder", parameters: {n: 20},
        logicalDate: "2024-03-01") { id state logicalDate } }"""
    run = gql(server, mutation)["data"]["triggerRun"]
    assert run["logicalDate"].startswith("2024-03-01")
    store = Store(db)
    deadline = time.monotonic() + 30
    while store.get_run(run["id"])["state"] != "success":
        assert time.monotonic() < deadline, store.get_run(run["id"])
        time.sleep(0.1)
    query = "query($id: String!) { run(id: $id) { trigger tasks { id result } } }"
    got = gql(server, query, id=run["id"])["data"]["run"]
    assert got["trigger"] == "ui"
    assert {t["id"]: t["result"] for t in got["tasks"]} == {"add": "21", "double": "42"}


def test_a_mutation_for_an_unknown_flow_is_an_error_not_a_crash(server):
    got = gql(server, 'mutation { triggerRun(flow: "nope") { id } }')
    assert "no flow 'nope'" in got["errors"][0]["message"]


async def _subscribe(url: str, run_id: str) -> list[dict]:
    ws_url = url.replace("http://", "ws://") + "/graphql"
    events = []
    async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        query = "subscription($id: String!) { runEvents(id: $id) { kind task state } }"
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": query, "variables": {"id": run_id}},
                }
            )
        )
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if message["type"] == "complete":
                return events
            assert message["type"] == "next", message
            events.append(message["payload"]["data"]["runEvents"])


def test_run_events_arrive_over_a_websocket_in_order(server):
    mutation = 'mutation { triggerRun(flow: "adder", parameters: {n: 1}) { id } }'
    run_id = gql(server, mutation)["data"]["triggerRun"]["id"]
    events = asyncio.run(_subscribe(server.url, run_id))
    tasks = [(e["task"], e["state"]) for e in events if e["kind"] == "task"]
    assert tasks == [("add", "success"), ("double", "success")]
    assert events[-1] == {"kind": "run", "task": None, "state": "success"}
    runs = [e["state"] for e in events if e["kind"] == "run"]
    assert runs[-1] == "success" and len(runs) == len(set(runs))


def test_cancel_run_stops_a_running_run(server, history):
    _, db, _ = history
    run_id = gql(server, 'mutation { triggerRun(flow: "forever") { id } }')["data"]["triggerRun"][
        "id"
    ]
    store = Store(db)
    deadline = time.monotonic() + 30
    while not any(t["task_id"] == "start" for t in store.task_runs(run_id)):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.3)  # spin is running now
    got = gql(server, "mutation($id: String!) { cancelRun(id: $id) { id state } }", id=run_id)
    assert got["data"]["cancelRun"]["id"] == run_id
    while store.get_run(run_id)["state"] == "running":
        assert time.monotonic() < deadline + 10
        time.sleep(0.1)
    assert store.get_run(run_id)["state"] == "cancelled"
    states = {t["task_id"]: t["state"] for t in store.task_runs(run_id)}
    assert states == {"start": "success", "spin": "cancelled", "never": "cancelled"}


@pytest.mark.parametrize("body", ["query=%7Bflows%7Bname%7D%7D", ""])
def test_graphql_takes_only_json_posts(server, body):
    response = httpx.post(
        server.url + "/graphql",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415
    assert httpx.get(server.url + "/graphql?query=%7Bflows%7Bname%7D%7D").status_code == 405
