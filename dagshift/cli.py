"""The ``dagshift`` command: one entry point with subcommands.

Each part of dagshift registers its own subcommands: a module listed in ``_COMMAND_MODULES``
defines ``register(subparsers)``, which adds an argparse subparser whose ``func(args)``
returns the exit status. ``main(argv)`` is testable without a subprocess.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import sys
from collections.abc import Sequence
from typing import Any

from dagshift import __version__
from dagshift.cliutil import err as _err
from dagshift.cliutil import jsonable
from dagshift.cliutil import param as _param
from dagshift.cliutil import prepare_imports as _prepare_imports
from dagshift.cliutil import stdout_to_stderr as _stdout_to_stderr

__all__ = ["main"]

_COMMAND_MODULES = (
    "dagshift.converter.cli",
    "dagshift.compat.cli",
    "dagshift.history.cli",
    "dagshift.verify.cli",
    "dagshift.runtime.pools_cli",
    "dagshift.ui.cli",  # after the history's: it adds --ui to serve
)


def _register_run(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="run the flows (and Airflow DAGs) in a file or folder",
        description="Import FILE (or every .py file in a folder), find its flows and Airflow "
        "DAGs, run each once, and print a table per run (or JSON with --json).",
    )
    p.add_argument("path", metavar="FILE|FOLDER", nargs="?")
    p.add_argument(
        "--flow",
        "--dag",
        dest="flows",
        action="append",
        metavar="NAME",
        help="run only this flow / DAG id (repeatable)",
    )
    p.add_argument(
        "--param",
        dest="params",
        action="append",
        type=_param,
        default=[],
        metavar="KEY=VALUE",
        help="a run parameter; VALUE is JSON if it parses",
    )
    p.add_argument("--date", default=None, help="the logical date of the run (default: now)")
    p.add_argument(
        "--dates",
        default=None,
        metavar="D1..D2|D1,D2,...",
        help="start one run per date, concurrently within each flow's max_active_runs: a daily "
        "range (both ends included) or a comma-separated list",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.add_argument(
        "--scheduler",
        choices=("threads", "sync"),
        default="threads",
        help="Dask's local threaded scheduler (default) or one thread, in order",
    )
    p.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="run on a dask.distributed cluster (tcp://HOST:PORT), or on a local "
        "cluster of N worker processes started for the run (local:N)",
    )
    history = _history()
    if history is not None:  # --db, --results, --resume: each run is recorded
        history.add_run_options(p)
    p.set_defaults(func=_run)


def _history():
    try:
        return importlib.import_module("dagshift.history.cli")
    except ModuleNotFoundError as exc:
        if exc.name not in ("dagshift.history.cli", "dagshift.runtime"):
            raise
        return None


def _run(args: argparse.Namespace) -> int:
    from dagshift.runtime.loader import LoadError, load_path

    history = _history()
    if history is not None and args.resume:
        return history.resume_command(args)
    if args.path is None:
        _err("give a FILE|FOLDER to run" + (" (or --resume RUN_ID)" if history else ""))
        return 2
    _prepare_imports()
    errors: list[LoadError] = []
    if history is not None:
        sources = history.load_sources(args.path, errors)
        flows = [flow for flow, _ in sources]
    else:
        flows = load_path(args.path, errors)
    for error in errors:
        _err(f"cannot load {error}")
    if errors and not flows:
        return 2
    if args.flows:
        known = {f.name for f in flows}
        missing = [n for n in args.flows if n not in known]
        if missing:
            _err(
                f"no flow named {', '.join(missing)} in {args.path}; found: "
                f"{', '.join(sorted(known)) or 'none'}"
            )
            return 2
        flows = [f for f in flows if f.name in args.flows]
    if not flows:
        _err(f"no flows or DAGs found in {args.path}")
        return 2
    params = dict(args.params)
    options: dict[str, Any] = {"scheduler": args.scheduler}
    if args.cluster:
        options.update(cluster=args.cluster, results="all")
    out = sys.stdout
    # With --json, stdout holds the one JSON object: what tasks print (and the output of
    # their subprocesses and of local cluster workers) goes to stderr.
    quiet = _stdout_to_stderr() if args.json else contextlib.nullcontext()
    if args.dates:
        try:
            dates = parse_dates(args.dates)
        except ValueError as exc:
            _err(str(exc))
            return 2
        sources = sources if history is not None else [(f, None) for f in flows]
        chosen = [(f, src) for f, src in sources if f in flows]
        return _run_dates(args, history, chosen, dates, params, options, bool(errors), quiet)
    try:
        with quiet:
            if history is not None:
                chosen = [(f, src) for f, src in sources if f in flows]
                runs = history.run_flows(args, chosen, params, options)
            else:
                runs = [f.run(parameters=params, logical_date=args.date, **options) for f in flows]
    except (ValueError, TypeError, OSError, RuntimeError) as exc:  # bad parameters, db ...
        _err(str(exc))
        return 2
    if args.json:
        print(json.dumps({r.flow_name: jsonable(r.to_dict()) for r in runs}, indent=2), file=out)
    else:
        from dagshift.runtime.report import print_runs

        print_runs(runs)
    if errors:
        return 2
    return 0 if all(r.ok for r in runs) else 1


def parse_dates(text: str) -> list[str]:
    """``2024-01-01..2024-01-31`` (every day, both ends) or ``2024-01-01,2024-01-05``."""
    import pendulum

    try:
        if ".." in text:
            first, last = (pendulum.parse(p.strip(), tz="UTC") for p in text.split("..", 1))
            if last < first:
                raise ValueError(f"--dates {text}: the range ends before it starts")
            days = (last - first).in_days()
            return [first.add(days=i).isoformat() for i in range(days + 1)]
        return [pendulum.parse(p.strip(), tz="UTC").isoformat() for p in text.split(",") if p]
    except (ValueError, TypeError) as exc:
        if "--dates" in str(exc):
            raise
        raise ValueError(
            f"--dates {text!r}: give D1..D2 or a comma-separated list of ISO dates ({exc})"
        ) from None


def _run_dates(args, history, sources, dates, params, options, load_failed, quiet) -> int:
    """One run per (flow, date), concurrently; each flow at most max_active_runs at once."""
    import copy
    import threading
    from concurrent.futures import ThreadPoolExecutor

    limits = {id(f): threading.Semaphore(f.max_active_runs or 16) for f, _ in sources}

    def one(flow, src, date):
        with limits[id(flow)]:
            if history is not None:
                dated = copy.copy(args)
                dated.date = date
                return history.run_flows(dated, [(flow, src)], params, options)[0]
            return flow.run(parameters=params, logical_date=date, **options)

    jobs = [(f, src, d) for f, src in sources for d in dates]
    workers = min(len(jobs), sum(f.max_active_runs or 16 for f, _ in sources), 64) or 1
    try:
        with quiet, ThreadPoolExecutor(max_workers=workers) as pool:
            runs = list(pool.map(lambda job: one(*job), jobs))
    except (ValueError, TypeError, OSError, RuntimeError) as exc:
        _err(str(exc))
        return 2
    if args.json:
        found: dict[str, dict[str, Any]] = {}
        for run in runs:
            found.setdefault(run.flow_name, {})[run.logical_date.isoformat()] = jsonable(
                run.to_dict()
            )
        print(json.dumps(found, indent=2))
    else:
        from dagshift.runtime.report import print_runs

        print_runs(runs)
    if load_failed:
        return 2
    return 0 if all(r.ok for r in runs) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dagshift",
        description="Move Airflow DAGs to functional flows on Dask, without a big-bang rewrite.",
    )
    parser.add_argument("--version", action="version", version=f"dagshift {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _register_run(sub)
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # Only a missing part of dagshift itself is skipped, never a missing dependency.
            if not exc.name or not (name == exc.name or name.startswith(exc.name + ".")):
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
