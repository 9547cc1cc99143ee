"""Figures for the UI (not a timed test): the page of a 1,000-task run, and a page of runs
over a history of 100,000 runs, through the store, GraphQL and the runs page.

    .venv/bin/python bench/ui_pages.py

Each figure is the median of several requests to the real Starlette app (in process, through
Starlette's TestClient, so the network is left out). The 1,000-task run is a real recorded run
of a flow of 20 chains of 50 tasks with cross links (a wide graph the layout must untangle).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from starlette.testclient import TestClient  # noqa: E402

from dagshift import Flow, task  # noqa: E402
from dagshift.history.checkpoint import ResultStore, run_recorded  # noqa: E402
from dagshift.history.store import Store  # noqa: E402
from dagshift.ui.app import create_app  # noqa: E402


@task
def step(*upstream):
    return len(upstream)


def big_flow(chains: int = 20, length: int = 50) -> Flow:
    with Flow("thousand") as flow:
        previous: list = []
        for i in range(length):
            layer = []
            for c in range(chains):
                ups = [previous[c]] if previous else []
                if previous and (i * 7 + c) % 5 == 0:
                    ups.append(previous[(c * 3 + i) % chains])  # a cross link
                layer.append(step.override(task_id=f"t{c:02d}_{i:02d}")(*ups))
            previous = layer
    return flow


def median_ms(fn, repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="dagshift-ui-bench-"))
    store = Store(folder / "h.db")
    results = ResultStore(folder / "results")
    flow = big_flow()
    started = time.perf_counter()
    run = run_recorded(store, results, flow, results="none")
    print(f"recorded a {len(run.tasks)}-task run in {time.perf_counter() - started:.1f}s")
    client = TestClient(create_app(store, results), base_url="http://127.0.0.1")
    page = client.get(f"/runs/{run.run_id}")
    assert page.status_code == 200 and page.text.count('class="node ') == 1000
    print(
        f"run page of 1,000 tasks: {median_ms(lambda: client.get(f'/runs/{run.run_id}')):.0f} ms"
        f" ({len(page.text) / 1e6:.1f} MB of HTML)"
    )
    print(f"its live fragment: {median_ms(lambda: client.get(f'/runs/{run.run_id}/live')):.0f} ms")

    rows = [
        (
            f"r{i:07d}",
            "flow" + str(i % 50),
            1,
            None,
            "schedule",
            "{}",
            None,
            f"2024-01-01T00:00:{i % 60:02d}",
            "failed" if i % 97 == 0 else "success",
            1_700_000_000 + i,
        )
        for i in range(100_000)
    ]
    with store._write() as db:
        db.executemany(
            "INSERT OR IGNORE INTO flows VALUES (?, ?)", [(f"flow{i}", 0) for i in range(50)]
        )
        db.executemany(
            "INSERT INTO runs (run_id, flow, version, path, trigger, params, params_blob, "
            "logical_date, state, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    print("100,000 more runs recorded")
    deep = "r0050000"
    figures = {
        "store: first page of 50": lambda: store.runs_page(limit=50),
        "store: page of 50 after run 50,000": lambda: store.runs_page(limit=50, after=deep),
        "store: failed runs of one flow, 50": lambda: store.runs_page("flow0", "failed", 50),
        "GraphQL runs(limit: 50) with tasks": lambda: client.post(
            "/graphql", json={"query": "{ runs(limit: 50) { id state start tasks { id } } }"}
        ),
        "GraphQL runs(limit: 200, after: ...)": lambda: client.post(
            "/graphql",
            json={
                "query": "query($a: String) { runs(limit: 200, after: $a) { id flow state } }",
                "variables": {"a": deep},
            },
        ),
        "page /runs?after=... (50 rows)": lambda: client.get(f"/runs?after={deep}"),
        "home page": lambda: client.get("/"),
    }
    for name, fn in figures.items():
        print(f"{name}: {median_ms(fn):.1f} ms")


if __name__ == "__main__":
    main()
