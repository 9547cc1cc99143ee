"""Commands for run history and scheduling: ``runs``, ``runs show``, ``register``, ``serve``,
``backfill``; plus what ``dagshift run`` needs to record runs and ``--resume`` them.

Every command takes ``--db PATH`` (default ``$DAGSHIFT_DB``, else ``.dagshift/dagshift.db``;
a database another process holds is waited for ``$DAGSHIFT_DB_TIMEOUT`` seconds, default 30);
commands that run tasks take ``--results DIR|URL`` (default ``$DAGSHIFT_RESULTS``, else
``results/`` beside the database) and ``--cluster``; listing commands take ``--json``. Status
and errors go to stderr (an error is one line: the file or run, and what to do), tables and
JSON to stdout; exit 0 when all is well, 1 when a run failed, 2 for bad input (a missing run,
a broken file or database, an unparseable schedule or date).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dagshift.cliutil import err as _err
from dagshift.cliutil import jsonable
from dagshift.cliutil import param as _param
from dagshift.cliutil import prepare_imports as _prepare_imports

__all__ = [
    "add_run_options",
    "db_option",
    "load_sources",
    "open_history",
    "register",
    "results_option",
    "resume_command",
    "run_flows",
]


def db_option(p: argparse.ArgumentParser) -> None:
    """``--db PATH``: the history database."""
    p.add_argument(
        "--db",
        metavar="PATH",
        help="run history database (default: $DAGSHIFT_DB, else .dagshift/dagshift.db)",
    )


def results_option(p: argparse.ArgumentParser) -> None:
    """``--results DIR|URL``: where results are checkpointed."""
    p.add_argument(
        "--results",
        metavar="DIR|URL",
        help="where task results are checkpointed (default: $DAGSHIFT_RESULTS, else results/ "
        "beside the database; an fsspec URL such as s3://bucket/prefix needs fsspec)",
    )


def _max_active_option(p: argparse.ArgumentParser, text: str) -> None:
    p.add_argument(
        "--max-active", "--max-runs", dest="max_runs", type=int, default=8, metavar="N", help=text
    )


def _cluster_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--cluster",
        metavar="ADDRESS|local:N",
        help="run tasks on a dask.distributed cluster (tcp://HOST:PORT), or on a local cluster "
        "of N worker processes started once for the command",
    )


def add_run_options(p: argparse.ArgumentParser) -> None:
    """The options ``dagshift run`` gets from the history: --db, --results, --resume ..."""
    db_option(p)
    results_option(p)
    p.add_argument(
        "--resume",
        metavar="RUN_ID",
        help="rerun only the tasks of this recorded run that did not succeed",
    )
    p.add_argument(
        "--force", action="store_true", help="with --resume: take over a run that looks alive"
    )
    p.add_argument(
        "--rerun-unreadable",
        action="store_true",
        help="with --resume: run again tasks whose stored result cannot be read",
    )


def open_history(args: argparse.Namespace):
    """The Store and ResultStore that ``--db`` and ``--results`` (or their defaults) name."""
    from dagshift.history.checkpoint import ResultStore
    from dagshift.history.store import Store, default_db_path

    store = Store(default_db_path(getattr(args, "db", None)))
    return store, ResultStore.beside(store.path, getattr(args, "results", None))


# --------------------------------------------------------------------- dagshift run
def load_sources(path: str | Path, errors: list) -> list[tuple[Any, Path]]:
    """Like ``load_path``, but each flow comes with the file it was defined in."""
    from dagshift.history.service import python_files
    from dagshift.runtime.loader import LoadError, load_file

    out = []
    for file in python_files(Path(path)):
        try:
            root = path if Path(path).is_dir() else None
            out.extend((flow, file.resolve()) for flow in load_file(file, root=root))
        except LoadError as exc:
            errors.append(exc)
    return out


def run_flows(args: argparse.Namespace, sources, params: dict, options: dict) -> list:
    """Run each (flow, file) once, recorded in the history; return the FlowRuns."""
    from dagshift.history.checkpoint import run_recorded

    store, results = open_history(args)
    runs = []
    for flow, file in sources:
        run = run_recorded(
            store,
            results,
            flow,
            path=str(file),
            parameters=params,
            logical_date=args.date,
            **options,
        )
        _err(f"run {run.run_id} of {flow.name!r}: {run.state} (recorded in {store.path})")
        runs.append(run)
    return runs


def resume_command(args: argparse.Namespace) -> int:
    """``dagshift run --resume RUN_ID``."""
    from dagshift.history.checkpoint import resume_run
    from dagshift.history.store import StoreError

    options: dict[str, Any] = {"scheduler": args.scheduler}
    if getattr(args, "cluster", None):
        options.update(cluster=args.cluster, results="all")
    _prepare_imports()
    try:
        store, results = open_history(args)
        before = store.task_runs(store.get_run(args.resume)["run_id"])
        reused = sum(1 for t in before if t["state"] == "success" and t["result_uri"])
        run = resume_run(
            store,
            results,
            args.resume,
            force=args.force,
            rerun_unreadable=args.rerun_unreadable,
            **options,
        )
    except StoreError as exc:
        _err(str(exc))
        return 2
    _err(f"resumed run {run.run_id} of {run.flow_name!r}: {run.state} ({reused} task(s) reused)")
    if args.json:
        print(json.dumps({run.flow_name: jsonable(run.to_dict())}, indent=2))
    else:
        from dagshift.runtime.report import print_runs

        print_runs([run])
    return 0 if run.ok else 1


# -------------------------------------------------------------------- dagshift runs
def _when(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def _run_json(run: dict[str, Any], store) -> dict[str, Any]:
    out = dict(run)
    out["created"], out["start"], out["end"] = (_when(run[k]) for k in ("created", "start", "end"))
    out["process_alive"] = store.run_is_alive(run) if run["state"] == "running" else None
    from dagshift.history.assets import describe_origin  # why it started

    out["why"] = describe_origin(store, run)
    return out


def _task_json(task: dict[str, Any]) -> dict[str, Any]:
    out = dict(task)
    out.pop("run_id", None)
    out["start"], out["end"] = _when(task["start"]), _when(task["end"])
    return out


def _runs(args: argparse.Namespace) -> int:
    from dagshift.history.store import StoreError

    words = list(args.words)
    try:
        if words[:1] == ["show"]:
            if len(words) != 2:
                _err("usage: dagshift runs show RUN_ID [--json]")
                return 2
            if args.logs or args.task:
                return _show_logs(args, words[1])
            return _show_run(args, words[1])
        if words[:1] == ["cancel"]:
            if len(words) != 2:
                _err("usage: dagshift runs cancel RUN_ID")
                return 2
            return _cancel_run(args, words[1])
        if len(words) > 1:
            _err(f"give at most one flow name, got {' '.join(words)}")
            return 2
        store, _ = open_history(args)
        flow = words[0] if words else args.flow
        rows = [_run_json(r, store) for r in store.list_runs(flow, args.state, args.limit)]
    except StoreError as exc:
        _err(str(exc))
        return 2
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        _err(f"no runs{f' of {flow!r}' if flow else ''} in {store.path}")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table("run", "flow", "v", "why", "logical date", "state", "started", "duration")
    for r in rows:
        state = r["state"]
        if r["process_alive"] is False:
            state += " (process gone: resume it)"
        duration = f"{r['duration']:.1f}s" if r["duration"] is not None else ""
        table.add_row(
            r["run_id"],
            r["flow"],
            str(r["version"] or ""),
            r["why"],
            r["logical_date"],
            state,
            r["start"] or "",
            duration,
        )
    Console(width=160).print(table)
    return 0


def _show_run(args: argparse.Namespace, run_id: str) -> int:
    store, _ = open_history(args)
    run = _run_json(store.get_run(run_id), store)
    tasks = [_task_json(t) for t in store.task_runs(run["run_id"])]
    if args.json:
        print(json.dumps({**run, "tasks": tasks}, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    console = Console(width=160)
    console.print(
        f"run [bold]{run['run_id']}[/] of [bold]{run['flow']}[/] (version {run['version']}, "
        f"{run['trigger']}): [bold]{run['state']}[/]"
    )
    console.print(f"logical date {run['logical_date']}; params {json.dumps(run['params'])}")
    console.print(f"started because: {run['why']}")
    console.print(f"started {run['start']}, ended {run['end']}, attempts {run['attempts']}")
    if run["message"]:
        console.print(run["message"])
    table = Table("task", "state", "tries", "started", "duration", "error", "result")
    for t in tasks:
        duration = f"{t['duration']:.2f}s" if t["duration"] is not None else ""
        table.add_row(
            t["task_id"],
            t["state"],
            str(t["tries"]),
            t["start"] or "",
            duration,
            t["error"] or t["message"] or "",
            t["result_uri"] or t["result_note"] or "",
        )
    console.print(table)
    return 0


def _show_logs(args: argparse.Namespace, run_id: str) -> int:
    """``runs show RUN_ID --logs [--task ID]``: what the tasks printed and logged."""
    from dagshift.history.logs import format_logs

    store, _ = open_history(args)
    run = store.get_run(run_id)
    tasks = store.task_runs(run["run_id"])
    if args.task is not None and args.task not in {t["task_id"] for t in tasks}:
        known = ", ".join(t["task_id"] for t in tasks) or "none recorded yet"
        _err(f"run {run['run_id']} has no task {args.task!r} (tasks: {known})")
        return 2
    rows = store.task_logs(run["run_id"], args.task)
    if args.task is not None:
        tasks = [t for t in tasks if t["task_id"] == args.task]
    if args.json:
        print(json.dumps({"run_id": run["run_id"], "logs": rows}, indent=2))
        return 0
    text = format_logs(rows, tasks)
    if text:
        print(text)
    else:
        _err(
            f"run {run['run_id']}: no logs recorded" + (f" for {args.task!r}" if args.task else "")
        )
    return 0


def _cancel_run(args: argparse.Namespace, run_id: str) -> int:
    """``runs cancel RUN_ID``: ask the process running it to stop (or stop a queued run)."""
    store, _ = open_history(args)
    run = store.get_run(run_id)
    outcome = store.request_cancel(run["run_id"])
    messages = {
        "requested": f"run {run['run_id']}: cancel requested; its process stops it shortly "
        "(tasks not started will not start, running ones are told)",
        "cancelled": f"run {run['run_id']}: cancelled (no process was running it)",
        "finished": f"run {run['run_id']} already ended {run['state']}: nothing to cancel",
    }
    _err(messages[outcome])
    return 0 if outcome != "finished" else 1


# ---------------------------------------------------------------- dagshift register
def _register(args: argparse.Namespace) -> int:
    from dagshift.history.store import StoreError
    from dagshift.runtime.schedule import ScheduleError, flow_schedule

    _prepare_imports()
    errors: list = []
    sources = [s for path in args.paths for s in load_sources(path, errors)]
    for error in errors:
        _err(f"cannot load {error}")
    rows = []
    try:
        store, _ = open_history(args)
        for flow, file in sources:
            try:
                flow_schedule(flow)  # what serve would refuse is refused here, before a version
            except ScheduleError as exc:
                errors.append(f"{file}: {exc}")
                _err(f"{file}: {exc}")
                continue
            version, new = store.register(flow, file)
            rows.append({"flow": flow.name, "version": version, "new": new, "path": str(file)})
    except StoreError as exc:
        _err(str(exc))
        return 2
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            status = "new version" if r["new"] else "unchanged, version"
            print(f"{r['flow']}: {status} {r['version']} ({r['path']})")
    if not sources and not errors:
        _err(f"no flows or DAGs found in {', '.join(args.paths)}")
        return 2
    return 2 if errors else 0


# ------------------------------------------------------------------- dagshift serve
def _serve(args: argparse.Namespace) -> int:
    from dagshift.history.service import Service
    from dagshift.history.store import StoreError

    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        _err(f"no such file or folder: {', '.join(missing)}")
        return 2
    if args.max_runs < 1 or args.grace < 0 or args.poll <= 0:
        _err("--max-active must be at least 1, --grace at least 0 and --poll above 0")
        return 2
    _prepare_imports()
    try:
        store, results = open_history(args)
    except StoreError as exc:
        _err(str(exc))
        return 2
    with contextlib.ExitStack() as stack:
        options = _run_options(args, stack)
        if options is None:
            return 2
        # What other parts of dagshift run beside the service in this process (the UI's
        # `serve --ui`, registered by dagshift/ui/cli.py): each returns a stop function, or
        # None when it could not start.
        for start in getattr(args, "companions", ()):
            stop = start(args, store, results)
            if stop is None:
                return 2
            stack.callback(stop)
        service = Service(
            args.paths,
            store,
            results,
            max_runs=args.max_runs,
            grace=args.grace,
            poll=args.poll,
            run_options=options,
        )
        interrupted = service.serve()
        if interrupted:
            stack.close()  # the cluster's workers go with the runs that were cut short
    sys.stdout.flush()
    sys.stderr.flush()
    if interrupted:
        # Threads of the interrupted runs cannot be stopped, and would hold the interpreter
        # open at exit: their runs are recorded, so leave at once.
        os._exit(0)
    return 0


def _run_options(args: argparse.Namespace, stack: contextlib.ExitStack) -> dict[str, Any] | None:
    """What every run of ``serve`` or ``backfill`` is started with: the scheduler, and the
    cluster's client (one for the whole command); None when the cluster cannot be reached."""
    options: dict[str, Any] = {"scheduler": args.scheduler}
    if args.cluster:
        try:
            options.update(cluster=_connect(stack, args.cluster), results="all")
        except (OSError, ValueError, RuntimeError) as exc:
            _err(f"cannot reach the cluster {args.cluster}: {type(exc).__name__}: {exc}")
            return None
    return options


def _connect(stack: contextlib.ExitStack, cluster: str) -> Any:
    """One client for the whole service (``local:N`` starts its cluster once, not per run)."""
    from dagshift.runtime.distributed import client_for

    client = stack.enter_context(client_for(cluster))
    _err(f"running tasks on {cluster} (scheduler {client.scheduler.address})")
    return client


# ---------------------------------------------------------------- dagshift backfill
def _backfill(args: argparse.Namespace) -> int:
    from dagshift.history.store import StoreError
    from dagshift.runtime.schedule import ScheduleError, flow_schedule, to_utc

    if args.max_runs < 1:
        _err("--max-active must be at least 1")
        return 2
    _prepare_imports()
    try:
        store, results = open_history(args)
        flow, path = _find_flow(store, args.flow, args.path)
        try:
            spec = flow_schedule(flow)
        except ScheduleError as exc:
            raise ScheduleError(f"{path}: {exc}") from None
        if spec.schedule is None:
            _err(f"flow {flow.name!r} ({path}) has no schedule, so a range has no run times")
            return 2
        start, end = to_utc(args.start), _end_of(args.end)
        if end < start:
            _err(f"--end {args.end} is before --start {args.start}")
            return 2
        intervals: dict[str, tuple] = {}
        if spec.timetable is not None:  # the timetable's runs, as Airflow 3's backfill
            for info in spec.infos(start, end):
                ld = to_utc(info.logical_date or info.run_after)
                intervals[ld.isoformat()] = tuple(info.data_interval)
            times = [to_utc(t) for t in intervals]
        else:
            times = list(spec.times(start, end))
        plan = _plan_backfill(
            store,
            results,
            flow,
            path,
            times,
            dict(args.params),
            args.rerun,
            args.rerun_unreadable,
        )
    except (StoreError, ScheduleError, ValueError) as exc:
        _err(str(exc))
        return 2
    skipped = len(times) - len(plan)
    workers = max(1, min(args.max_runs, flow.max_active_runs or args.max_runs))
    _err(
        f"backfill of {flow.name!r}: {len(times)} time(s) in range, {len(plan)} to run, "
        f"{workers} at a time" + (f", {skipped} already succeeded" if skipped else "")
    )
    with contextlib.ExitStack() as stack:
        options = _run_options(args, stack)
        if options is None:
            return 2
        if intervals:
            options["data_intervals"] = intervals
        runs = _run_plan(store, results, flow, path, plan, dict(args.params), workers, options)
    rows = [
        {"run_id": r.run_id, "logical_date": r.logical_date.isoformat(), "state": r.state}
        for r in runs
    ]
    if args.json:
        print(json.dumps({"flow": flow.name, "skipped": skipped, "runs": rows}, indent=2))
    else:
        for row in rows:
            print(f"{row['logical_date']}  {row['state']:<8}  {row['run_id']}")
    return 0 if all(r.ok for r in runs) else 1


def _end_of(text: str):
    """``--end``: a time as given; a bare date (``2024-05-03``) includes that whole day."""
    from datetime import timedelta

    from dagshift.runtime.schedule import to_utc

    end = to_utc(text)
    if len(text.strip()) == 10 and text.strip()[4::3] == "--":
        end = end + timedelta(days=1) - timedelta(microseconds=1)
    return end


def _plan_backfill(
    store, results, flow, path: Path, times, params: dict, rerun: bool, rerun_unreadable: bool
) -> list:
    """(logical date, run id, completed task runs) per time still to run.

    Every run is recorded (``queued``) before any starts, so an interrupted backfill leaves
    its remaining times in the history, and the same command resumes them.
    """
    from dagshift.history.checkpoint import load_completed
    from dagshift.history.store import new_run_id

    version, _ = store.register(flow, path)
    done = store.succeeded_dates(flow.name)
    unfinished: dict[str, str] = {}
    for r in store.list_runs(flow.name, limit=None):  # newest first: the latest attempt wins
        if (
            r["trigger"] == "backfill"
            and r["state"] in ("queued", "running", "interrupted", "failed")
            and not store.run_is_alive(r)
        ):
            unfinished.setdefault(r["logical_date"], r["run_id"])
    plan = []
    for when in times:
        iso = when.isoformat()
        if rerun or iso not in done:
            if iso in unfinished and not rerun:
                run_id = unfinished[iso]
                completed = load_completed(store, results, run_id, rerun_unreadable)
                plan.append((when, run_id, completed))
                continue
            run_id = new_run_id()
            store.create_run(
                run_id,
                flow.name,
                logical_date=iso,
                params=params,
                trigger="backfill",
                version=version,
                path=str(path),
            )
            plan.append((when, run_id, {}))
    return plan


# The states a planned backfill run may start from: a run cancelled while it waited in the
# queue (`dagshift runs cancel`) has left them, and is not started.
_BACKFILL_STARTS = ("queued", "running", "interrupted", "failed")


@dataclass
class _NotStarted:
    """A planned backfill run that was not started, as the summary lists it."""

    run_id: str
    logical_date: Any
    state: str
    ok: bool = False


def _run_plan(store, results, flow, path, plan, params, workers: int, options: dict) -> list:
    from dagshift.history.checkpoint import RunNotStarted, run_recorded

    intervals = options.pop("data_intervals", {})
    options = {**options, "run_extra": {"dagshift.run_type": "backfill"}}  # Airflow's run_type

    def one(item):
        when, run_id, completed = item
        if when.isoformat() in intervals:
            options_here = {**options, "data_interval": intervals[when.isoformat()]}
        else:
            options_here = options
        try:
            return run_recorded(
                store,
                results,
                flow,
                path=str(path),
                parameters=params,
                logical_date=when,
                run_id=run_id,
                completed=completed,
                start_from=_BACKFILL_STARTS,
                **options_here,
            )
        except RunNotStarted as exc:
            _err(f"backfill of {flow.name!r}: {exc}: not started")
            return _NotStarted(run_id, when, store.get_run(run_id)["state"])

    with ThreadPoolExecutor(workers, thread_name_prefix="dagshift-backfill") as pool:
        return list(pool.map(one, plan))


def _find_flow(store, name: str, path: str | None):
    """FLOW is a registered name, or a file (defining one flow, or FLOW given with --path)."""
    from dagshift.history.store import StoreError

    if path is None and (name.endswith(".py") or Path(name).is_file()):
        path, name = name, None
    elif path is None:
        known = {f["name"]: f for f in store.flows()}
        if name not in known or not known[name]["path"]:
            raise StoreError(
                f"flow {name!r} is not registered in {store.path}: give the file instead "
                "(dagshift backfill FILE ...), or run `dagshift register FILE` first"
            )
        path = known[name]["path"]
    if not Path(path).exists():
        raise StoreError(f"{path}: no such file (the flow's file moved? register it again)")
    errors: list = []
    sources = load_sources(path, errors)
    if errors:
        raise StoreError(f"cannot load {errors[0]}")
    if name is None:
        if len(sources) != 1:
            found = ", ".join(f.name for f, _ in sources) or "none"
            raise StoreError(
                f"{path} defines {len(sources)} flows ({found}): name one, "
                "dagshift backfill NAME --path FILE"
            )
        return sources[0]
    chosen = [(f, p) for f, p in sources if f.name == name]
    if not chosen:
        found = ", ".join(f.name for f, _ in sources) or "none"
        raise StoreError(f"{path} does not define a flow named {name!r} (it defines: {found})")
    return chosen[0]


# ------------------------------------------------------------------------- register
def register(sub: argparse._SubParsersAction) -> None:
    """Add ``runs``, ``register``, ``serve`` and ``backfill`` to the ``dagshift`` command."""
    p = sub.add_parser(
        "runs",
        help="list recorded runs (dagshift runs [FLOW]; runs show RUN_ID [--logs]; runs cancel ID)",
        description="List recorded runs, newest first, or show one run with its task runs. "
        "A RUN_ID may be shortened to any unique prefix.",
    )
    p.add_argument("words", nargs="*", metavar="FLOW | show RUN_ID | cancel RUN_ID")
    p.add_argument(
        "--logs", action="store_true", help="with show: print what the tasks printed and logged"
    )
    p.add_argument("--task", metavar="ID", help="with show --logs: only this task's log")
    p.add_argument("--flow", help="only runs of this flow")
    p.add_argument("--state", help="only runs in this state (success, failed, running ...)")
    p.add_argument("--limit", type=int, default=50, help="at most this many runs (default 50)")
    p.add_argument("--json", action="store_true", help="print JSON")
    db_option(p)
    p.set_defaults(func=_runs)

    p = sub.add_parser(
        "register",
        help="record flows and their versions in the history",
        description="Load the flows (and DAGs) in each file or folder and record them; a flow "
        "gets a new version when its graph or task code changed since its last version.",
    )
    p.add_argument("paths", nargs="+", metavar="FILE|FOLDER")
    p.add_argument("--json", action="store_true", help="print JSON")
    db_option(p)
    p.set_defaults(func=_register)

    p = sub.add_parser(
        "serve",
        help="run flows on their schedules until stopped",
        description="Load flows and DAGs from files and folders, start each run when it is due, "
        "pick up new and changed files, and on SIGINT/SIGTERM let running runs finish for a "
        "grace period, recording the rest as interrupted.",
    )
    p.add_argument("paths", nargs="+", metavar="FILE|FOLDER")
    _max_active_option(
        p,
        "runs at once across all flows (default 8); each flow also keeps "
        "to its own max_active_runs",
    )
    p.add_argument(
        "--grace",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="on SIGINT/SIGTERM, how long running runs may go on (default 30)",
    )
    p.add_argument(
        "--poll",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="seconds between file scans (default 5)",
    )
    p.add_argument("--scheduler", choices=("threads", "sync"), default="threads")
    _cluster_option(p)
    db_option(p)
    results_option(p)
    p.set_defaults(func=_serve)

    p = sub.add_parser(
        "backfill",
        help="run a flow for every schedule time in a range, concurrently",
        description="Create the runs of FLOW's schedule times from --start to --end (both "
        "included) and run them concurrently, at most --max-active (and the flow's "
        "max_active_runs) at once. Times that already succeeded are skipped, and unfinished "
        "backfill runs of a time are resumed, unless --rerun.",
    )
    p.add_argument("flow", metavar="FLOW|FILE", help="a registered flow name, or its file")
    p.add_argument("--start", required=True, metavar="DATE", help="first time (included)")
    p.add_argument(
        "--end", required=True, metavar="DATE", help="last time (included; a date: all that day)"
    )
    p.add_argument("--path", metavar="FILE", help="file defining FLOW (default: as registered)")
    p.add_argument(
        "--param",
        dest="params",
        action="append",
        type=_param,
        default=[],
        metavar="KEY=VALUE",
        help="a run parameter; VALUE is JSON if it parses",
    )
    _max_active_option(p, "runs at once (default 8, and at most the flow's max_active_runs)")
    p.add_argument("--rerun", action="store_true", help="run every time again, from scratch")
    p.add_argument(
        "--rerun-unreadable",
        action="store_true",
        help="when resuming a time, run again tasks whose stored result cannot be read",
    )
    p.add_argument("--scheduler", choices=("threads", "sync"), default="threads")
    _cluster_option(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    db_option(p)
    results_option(p)
    p.set_defaults(func=_backfill)
