"""The ``dagshift ui`` web application: server-rendered pages and ``/graphql``.

Pages are Jinja2 templates (named ``.html``, autoescaped: task ids, errors, logs and code are
hostile input), usable without JavaScript; with it, the vendored htmx refreshes the live part
of a running run's page every second, and stops once the run has ended. Everything goes
through :class:`~dagshift.ui.security.Guard`. Page handlers are plain functions, which
Starlette runs in its thread pool: SQLite reads never block the event loop.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from strawberry.asgi import GraphQL

from dagshift.history.checkpoint import ResultStore
from dagshift.history.query import next_scheduled, version_changes
from dagshift.history.store import RunNotFound, Store, StoreError
from dagshift.ui.runner import RunError, Runner
from dagshift.ui.schema import PAGE_CAP, schema
from dagshift.ui.security import Guard
from dagshift.ui.templating import environment, graph_view

__all__ = ["UI", "create_app"]

HERE = Path(__file__).parent
ACTIVE = ("queued", "running")
CHANGES_SHOWN = 10  # a flow page shows what changed in its last ten versions


@dataclass
class UI:
    """What every handler and resolver needs."""

    store: Store
    runner: Runner
    read_only: bool
    guard: Guard | None = None
    report: Path | None = None  # a `migrate --report FILE.json` to show at /migration


TEMPLATES = Jinja2Templates(env=environment())


def _ui(request: Request) -> UI:
    return request.app.state.ui


def _page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    ui = _ui(request)
    context.update(
        read_only=ui.read_only,
        csrf=ui.guard.csrf_token(request.scope) if ui.guard else "",
    )
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status)


# ---------------------------------------------------------------------- pages
def home(request: Request) -> Response:
    store = _ui(request).store
    return _page(
        request,
        "home.html",
        report=_ui(request).report is not None,
        counts=store.run_counts(),
        running=store.runs_page(state="running", limit=20),
        failed=store.runs_page(state="failed", limit=10),
        recent=store.runs_page(limit=20),
        scheduled=next_scheduled(store),
        flows=store.flows(),
    )


def runs_list(request: Request) -> Response:
    store = _ui(request).store
    q = request.query_params
    flow, state = q.get("flow") or None, q.get("state") or None
    limit = min(max(int(q.get("limit", 50) or 50), 1), PAGE_CAP)
    rows = store.runs_page(flow, state, limit, q.get("after") or None)
    more = rows[-1]["run_id"] if len(rows) == limit else None
    return _page(request, "runs.html", runs=rows, flow=flow, state=state, more=more, limit=limit)


def flow_page(request: Request) -> Response:
    store = _ui(request).store
    name = request.path_params["name"]
    versions = store.versions(name)
    if not versions:
        return _page(request, "error.html", 404, message=f"no flow {name!r} in {store.path}")
    latest = store.version_graph(name)
    recent = versions[-(CHANGES_SHOWN + 1) :]  # each change reads two versions' sources
    changes = [
        version_changes(store, name, a["version"], b["version"])
        for a, b in zip(recent, recent[1:], strict=False)
    ]
    graph = None
    if latest is not None:
        graph = graph_view([t["id"] for t in latest["tasks"]], latest["edges"], {})
    runs = store.runs_page(name, limit=50)
    return _page(
        request,
        "flow.html",
        name=name,
        versions=list(reversed(versions)),
        changes=[c for c in reversed(changes) if c],
        shape=latest,
        graph=graph,
        runs=runs,
        more=runs[-1]["run_id"] if len(runs) == 50 else None,
        params_json={k: json.dumps(v) for k, v in (latest or {}).get("params", {}).items()},
    )


def _run_context(store: Store, run_id: str) -> dict[str, Any]:
    run = store.get_run(run_id)
    tasks = store.task_runs(run["run_id"])
    states = {t["task_id"]: t["state"] for t in tasks}
    shape = store.version_graph(run["flow"], run["version"]) if run["version"] else None
    if shape is not None:
        ids = [t["id"] for t in shape["tasks"]]
        edges = [tuple(e) for e in shape["edges"]]
    else:  # recorded before dagshift kept graphs: the tasks that ran, without edges
        ids, edges = [t["task_id"] for t in tasks], []
    starts = [t["start"] for t in tasks if t["start"] is not None]
    origin = min(starts, default=run["start"] or 0)
    ends = [t["end"] for t in tasks if t["end"] is not None]
    span = max(max(ends, default=origin) - origin, 1e-3)
    # a run whose process died stays 'running' in the history: nothing will change it
    gone = run["state"] in ACTIVE and run["pid"] is not None and store.run_is_alive(run) is False
    return {
        "run": run,
        "tasks": tasks,
        "graph": graph_view(ids, edges, states),
        "gantt": {"origin": origin, "span": span},
        "gone": gone,
        "active": run["state"] in ACTIVE and not gone,
    }


def run_page(request: Request) -> Response:
    store = _ui(request).store
    try:
        context = _run_context(store, request.path_params["run_id"])
    except RunNotFound as exc:
        return _page(request, "error.html", 404, message=str(exc))
    return _page(request, "run.html", **context)


def run_live(request: Request) -> Response:
    """The live part of a run page (graph, timeline, task table), for htmx to swap in."""
    store = _ui(request).store
    try:
        context = _run_context(store, request.path_params["run_id"])
    except RunNotFound as exc:
        return PlainTextResponse(str(exc), 404)
    return _page(request, "_run_live.html", **context)


def task_page(request: Request) -> Response:
    store = _ui(request).store
    try:
        run = store.get_run(request.path_params["run_id"])
    except RunNotFound as exc:
        return _page(request, "error.html", 404, message=str(exc))
    task_id = request.path_params["task"]
    rows = [t for t in store.task_runs(run["run_id"]) if t["task_id"] == task_id]
    if not rows:
        return _page(
            request, "error.html", 404, message=f"run {run['run_id']} has no task run {task_id!r}"
        )
    logs = store.task_logs(run["run_id"], task_id, limit=20_000)
    return _page(request, "task.html", run=run, task=rows[0], logs=logs)


def migration(request: Request) -> Response:
    """The last ``dagshift migrate --report FILE.json``, its flows linked to their pages."""
    ui = _ui(request)
    if ui.report is None:
        return _page(
            request, "error.html", 404, message="no report: start with dagshift ui --report FILE"
        )
    context: dict[str, Any] = {"path": str(ui.report), "files": [], "summary": {}, "error": None}
    try:
        data = json.loads(ui.report.read_text())
        context["files"] = [_report_file(f) for f in data.get("files", [])]
        context["summary"] = data.get("summary", {})
    except (OSError, ValueError, AttributeError, TypeError) as exc:
        context["error"] = f"cannot read the report: {type(exc).__name__}: {exc}"
    known = {f["name"] for f in ui.store.flows()}
    return _page(request, "migration.html", known=known, **context)


def _report_file(entry: dict[str, Any]) -> dict[str, Any]:
    checks = entry.get("verification")
    if checks is None:
        verified = "not verified"
    else:
        verified = "verified" if all(c.get("ok") for c in checks) else "differs"
    return {**entry, "findings": entry.get("findings") or [], "verified": verified}


# ------------------------------------------------------------------ actions
async def _form(request: Request) -> tuple[UI, Any] | Response:
    ui = _ui(request)
    if ui.read_only:
        return PlainTextResponse("this server is read-only (dagshift ui --read-only)", 403)
    form = await request.form()
    if ui.guard is not None and not ui.guard.csrf_ok(request.scope, form.get("csrf")):
        return PlainTextResponse("missing or wrong CSRF token: reload the page and retry", 403)
    return ui, form


def _parse(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


async def trigger(request: Request) -> Response:
    got = await _form(request)
    if isinstance(got, Response):
        return got
    ui, form = got
    name = request.path_params["name"]
    params = {
        key[6:]: _parse(str(value))
        for key, value in form.multi_items()
        if key.startswith("param:") and str(value) != ""
    }
    from starlette.concurrency import run_in_threadpool

    try:
        run_id = await run_in_threadpool(
            ui.runner.trigger, name, params, form.get("logical_date") or None
        )
    except StoreError as exc:
        return PlainTextResponse(f"cannot start a run of {name!r}: {exc}", 400)
    return RedirectResponse(f"/runs/{quote(run_id)}", 303)


async def _run_action(request: Request, action: str) -> Response:
    got = await _form(request)
    if isinstance(got, Response):
        return got
    ui, _ = got
    from starlette.concurrency import run_in_threadpool

    run_id = request.path_params["run_id"]
    try:
        await run_in_threadpool(getattr(ui.runner, action), run_id)
    except (RunError, StoreError) as exc:
        return PlainTextResponse(str(exc), 400)
    return RedirectResponse(f"/runs/{quote(run_id)}", 303)


async def cancel(request: Request) -> Response:
    return await _run_action(request, "cancel")


async def resume(request: Request) -> Response:
    return await _run_action(request, "resume")


class _GraphQL(GraphQL):
    async def get_context(self, request, response) -> dict[str, Any]:
        return {"request": request, "response": response, "ui": request.app.state.ui}


def create_app(
    store: Store,
    results: ResultStore,
    *,
    host: str = "127.0.0.1",
    token: str | None = None,
    read_only: bool = False,
    allowed_hosts: set[str] | None = None,
    report: str | Path | None = None,
) -> Any:
    """The ASGI application (the Starlette app behind its :class:`Guard`)."""
    graphql = _GraphQL(schema, graphql_ide=None, allow_queries_via_get=False)
    app = Starlette(
        routes=[
            Route("/", home),
            Route("/runs", runs_list),
            Route("/migration", migration),
            Route("/flows/{name:path}/trigger", trigger, methods=["POST"]),
            Route("/flows/{name:path}", flow_page),
            Route("/runs/{run_id}/live", run_live),
            Route("/runs/{run_id}/cancel", cancel, methods=["POST"]),
            Route("/runs/{run_id}/resume", resume, methods=["POST"]),
            Route("/runs/{run_id}/tasks/{task:path}", task_page),
            Route("/runs/{run_id}", run_page),
            Route("/graphql", graphql, methods=["POST"]),
            WebSocketRoute("/graphql", graphql),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ],
    )
    guard = Guard(app, host, token, allowed_hosts)
    runner = Runner(store, results)
    if not read_only:
        runner.adopt()  # runs an earlier UI handed to a serve: run here if no serve is left
    app.state.ui = UI(store, runner, read_only, guard, Path(report) if report else None)
    return guard
