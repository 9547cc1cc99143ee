"""The GraphQL API at ``/graphql`` (strawberry, code first; camelCase names).

Queries ``flows``, ``flow(name)``, ``runs(flow, state, limit, after)`` (keyset pages of at
most :data:`PAGE_CAP` runs; ``after`` is the last run id of the page before) and ``run(id)``
with its tasks and ``logs(task, after)``; mutations ``triggerRun``, ``resumeRun``,
``cancelRun`` (refused with ``--read-only``); the subscription ``runEvents(id)`` sends each
task's and then the run's state changes, in the order they were recorded, until the run ends.
Depth, token and alias limits keep one request from costing the server much; resolvers read
SQLite (and load flow files) in threads, never on the event loop that serves websockets.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any

import strawberry
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.scalars import JSON
from strawberry.types import Info

from dagshift.history.query import result_preview
from dagshift.history.store import RunNotFound, StoreError

__all__ = ["PAGE_CAP", "schema"]

PAGE_CAP = 200
LOG_PAGE_CAP = 5_000
EVENT_POLL = 0.2


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


def _ui(info: Info):
    return info.context["ui"]


@strawberry.type
class Version:
    version: int
    created: str
    tasks: int
    edges: int
    path: str | None


@strawberry.type
class LogLine:
    seq: int
    task: str
    attempt: int
    time: str
    stream: str
    level: str | None
    text: str


@strawberry.type
class TaskRun:
    id: str
    state: str
    tries: int
    start: str | None
    end: str | None
    duration: float | None
    error: str | None
    traceback: str | None
    message: str | None
    run_id: strawberry.Private[str]
    row: strawberry.Private[dict]

    @strawberry.field(description="A short repr of the checkpointed result, or why none.")
    async def result(self, info: strawberry.Info) -> str | None:
        row = self.row
        return await asyncio.to_thread(
            result_preview,
            _ui(info).store,
            row["result_uri"],
            row["result_note"],
            self.run_id,
            self.id,
        )


def _task(row: dict, run_id: str) -> TaskRun:
    return TaskRun(
        id=row["task_id"],
        state=row["state"],
        tries=row["tries"],
        start=_iso(row["start"]),
        end=_iso(row["end"]),
        duration=row["duration"],
        error=row["error"],
        traceback=row["traceback"],
        message=row["message"],
        run_id=run_id,
        row=row,
    )


@strawberry.type
class Run:
    id: str
    flow: str
    version: int | None
    state: str
    trigger: str
    logical_date: str
    start: str | None
    end: str | None
    message: str | None
    parameters: JSON

    @strawberry.field
    async def tasks(self, info: Info) -> list[TaskRun]:
        rows = await asyncio.to_thread(_ui(info).store.task_runs, self.id)
        return [_task(r, self.id) for r in rows]

    @strawberry.field(description="Log lines, oldest first, after the `seq` given.")
    async def logs(
        self, info: Info, task: str | None = None, after: int = 0, limit: int = 1000
    ) -> list[LogLine]:
        page = min(max(limit, 0), LOG_PAGE_CAP)
        rows = await asyncio.to_thread(_ui(info).store.task_logs, self.id, task, after, page)
        return [
            LogLine(
                seq=r["seq"],
                task=r["task_id"],
                attempt=r["attempt"],
                time=_iso(r["time"]),
                stream=r["stream"],
                level=r["level"],
                text=r["text"],
            )
            for r in rows
        ]


def _run(row: dict) -> Run:
    return Run(
        id=row["run_id"],
        flow=row["flow"],
        version=row["version"],
        state=row["state"],
        trigger=row["trigger"],
        logical_date=row["logical_date"],
        start=_iso(row["start"]),
        end=_iso(row["end"]),
        message=row["message"],
        parameters=row["params"],
    )


@strawberry.type
class Flow:
    name: str

    @strawberry.field
    def versions(self, info: Info) -> list[Version]:
        return [
            Version(
                version=v["version"],
                created=_iso(v["created"]),
                tasks=v["tasks"],
                edges=v["edges"],
                path=v["path"],
            )
            for v in _ui(info).store.versions(self.name)
        ]

    @strawberry.field
    async def runs(
        self, info: Info, state: str | None = None, limit: int = 50, after: str | None = None
    ) -> list[Run]:
        return await _runs_page(info, self.name, state, limit, after)


async def _runs_page(info: Info, flow, state, limit: int, after) -> list[Run]:
    if limit < 0 or limit > PAGE_CAP:
        raise ValueError(f"limit must be between 0 and {PAGE_CAP}, got {limit}")
    rows = await asyncio.to_thread(_ui(info).store.runs_page, flow, state, limit, after)
    return [_run(r) for r in rows]


@strawberry.type
class Query:
    @strawberry.field
    def flows(self, info: Info) -> list[Flow]:
        return [Flow(name=f["name"]) for f in _ui(info).store.flows()]

    @strawberry.field
    def flow(self, info: Info, name: str) -> Flow | None:
        names = {f["name"] for f in _ui(info).store.flows()}
        return Flow(name=name) if name in names else None

    @strawberry.field(description=f"Runs, newest first; pages of at most {PAGE_CAP}.")
    async def runs(
        self,
        info: Info,
        flow: str | None = None,
        state: str | None = None,
        limit: int = 50,
        after: str | None = None,
    ) -> list[Run]:
        return await _runs_page(info, flow, state, limit, after)

    @strawberry.field
    async def run(self, info: Info, id: str) -> Run | None:
        try:
            return _run(await asyncio.to_thread(_ui(info).store.get_run, id))
        except RunNotFound:
            return None


def _writable(info: Info):
    ui = _ui(info)
    if ui.read_only:
        raise PermissionError("this server is read-only (dagshift ui --read-only)")
    return ui


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def trigger_run(
        self,
        info: Info,
        flow: str,
        parameters: JSON | None = None,
        logical_date: str | None = None,
    ) -> Run:
        ui = _writable(info)
        if parameters is not None and not isinstance(parameters, dict):
            raise ValueError("parameters must be an object of name: value")
        # loading the flow's file may take a while: not on the event loop
        run_id = await asyncio.to_thread(ui.runner.trigger, flow, parameters or {}, logical_date)
        return _run(await asyncio.to_thread(ui.store.get_run, run_id))

    @strawberry.mutation
    async def resume_run(self, info: Info, id: str) -> Run:
        ui = _writable(info)
        run_id = await asyncio.to_thread(ui.runner.resume, id)
        return _run(await asyncio.to_thread(ui.store.get_run, run_id))

    @strawberry.mutation
    async def cancel_run(self, info: Info, id: str) -> Run:
        ui = _writable(info)
        await asyncio.to_thread(ui.runner.cancel, id)
        return _run(await asyncio.to_thread(ui.store.get_run, id))


@strawberry.type
class RunEvent:
    kind: str  # "task" or "run"
    task: str | None
    state: str
    time: str | None
    error: str | None


def _run_event(run: dict) -> RunEvent:
    return RunEvent(kind="run", task=None, state=run["state"], time=_iso(run["end"]), error=None)


def _snapshot(store, run_id: str) -> tuple[dict, dict]:
    return store.get_run(run_id), {t["task_id"]: t for t in store.task_runs(run_id)}


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def run_events(self, info: Info, id: str) -> AsyncGenerator[RunEvent, None]:
        """Task runs as they are recorded (ordered by end time), then the run's final state."""
        store = _ui(info).store
        seen: dict[str, tuple] = {}
        last_state = None
        while True:
            try:
                run, tasks = await asyncio.to_thread(_snapshot, store, id)
            except StoreError as exc:
                raise ValueError(str(exc)) from None
            active = run["state"] in ("queued", "running")
            if active and run["state"] != last_state:
                last_state = run["state"]
                yield _run_event(run)
            changed = [
                t for t in tasks.values() if seen.get(t["task_id"]) != (t["state"], t["tries"])
            ]
            for t in sorted(changed, key=lambda t: (t["end"] or 0, t["task_id"])):
                seen[t["task_id"]] = (t["state"], t["tries"])
                yield RunEvent(
                    kind="task",
                    task=t["task_id"],
                    state=t["state"],
                    time=_iso(t["end"]),
                    error=t["error"],
                )
            if not active:
                yield _run_event(run)
                return
            await asyncio.sleep(EVENT_POLL)


def make_schema(**limits: Any) -> strawberry.Schema:
    """The schema with its request limits (depth 10, 2,000 tokens, 30 aliases by default)."""
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            lambda: QueryDepthLimiter(max_depth=limits.get("depth", 10)),
            lambda: MaxTokensLimiter(max_token_count=limits.get("tokens", 2000)),
            lambda: MaxAliasesLimiter(max_alias_count=limits.get("aliases", 30)),
        ],
    )


schema = make_schema()
