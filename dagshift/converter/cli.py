"""``dagshift migrate``: convert Airflow DAG files, in the manner of black and ruff.

Status goes to stderr, diffs to stdout. Exit 0 when done, 1 with ``--check`` when a file
would change, 2 when a file could not be read, decoded or parsed (the others go on).
"""

from __future__ import annotations

import argparse
import ast
import difflib
import fnmatch
import json
import os
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from dagshift.runtime.files import write_atomic

__all__ = ["main", "register", "write_report"]

_STATUSES = ("converted", "partial", "unchanged", "not_a_dag", "failed")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("migrate", help="convert Airflow DAG files into dagshift flows")
    _add_arguments(p)
    p.set_defaults(func=_migrate)


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", metavar="PATH")
    p.add_argument("--list-rules", action="store_true", help="list the conversion rules and exit")
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--out", metavar="DIR", help="write converted files here (default: ./dagshift-out)"
    )
    where.add_argument("--in-place", action="store_true", help="overwrite the input files")
    p.add_argument("--diff", action="store_true", help="print diffs, write nothing")
    p.add_argument(
        "--check", action="store_true", help="exit 1 if any file would change; write nothing"
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=0,
        metavar="N",
        help="processes converting files in parallel (default 0: one per CPU)",
    )
    p.add_argument(
        "--report",
        metavar="FILE.json|.md|.html",
        help="write a report: JSON, Markdown for a pull request, or a self-contained HTML page",
    )
    p.add_argument(
        "--verify",
        nargs="?",
        const="run",
        default=None,
        metavar="graph",
        help="load each original (through the Airflow shim) and its conversion, compare their "
        "graphs and run both at one date: this imports and runs the files' code; "
        "--verify=graph compares graphs, data edges and task options and runs no task",
    )
    p.add_argument(
        "--verify-date",
        metavar="DATE",
        default=None,
        help="the logical date of the verification runs (default: today, 00:00 UTC)",
    )
    p.add_argument(
        "--verify-timeout",
        metavar="SECONDS",
        type=float,
        default=600.0,
        help="how long each verification run may take before it is stopped and its file "
        "reported as not verified (default: 600; 0: no limit)",
    )
    p.add_argument(
        "--param",
        dest="params",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a run parameter for the verification runs (repeatable)",
    )
    p.add_argument("--exclude", action="append", default=[], metavar="GLOB")


def _files(paths: list[str], exclude: list[str]) -> list[tuple[Path, Path]]:
    """(file, root) pairs, sorted; symlinks leaving their root are not followed."""
    found: list[tuple[Path, Path]] = []
    for raw in paths:
        root = Path(raw)
        if root.is_file():
            found.append((root, root.parent))
            continue
        real_root = root.resolve()
        for path in sorted(root.rglob("*.py")):
            try:
                path.resolve().relative_to(real_root)
            except ValueError:
                continue
            rel = path.relative_to(root).as_posix()
            if any(fnmatch.fnmatch(rel, g) or fnmatch.fnmatch(path.name, g) for g in exclude):
                continue
            found.append((path, root))
    return found


# Deep enough for a `t0 >> t1 >> ... ` chain of thousands of tasks in one expression (each `>>`
# nests the tree one level); libcst and the converter walk trees recursively.
_RECURSION_LIMIT = 20_000


def _process(path: str) -> dict[str, Any]:
    """One file's entry: converted, checked (parses, stable), or failed with a finding; never
    raises, so one bad file cannot stop the others."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, _RECURSION_LIMIT))
    try:
        return _convert_file(path)
    except Exception as exc:  # a converter bug: this file fails, the others go on
        message = (
            f"the converter failed on this file ({type(exc).__name__}: {exc}); it is left as "
            "it is: please report it with the file"
        )
        return {
            "path": path,
            "status": "failed",
            "findings": [{"code": "DS904", "line": 1, "message": message}],
        }
    finally:
        sys.setrecursionlimit(limit)


def _convert_file(path: str) -> dict[str, Any]:
    # libcst is imported when a file is converted, not when `dagshift run` starts.
    from libcst import ParserSyntaxError

    from dagshift.converter.convert import convert_source

    entry: dict[str, Any] = {"path": path, "status": "failed", "findings": []}
    try:
        source = Path(path).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        entry["findings"].append({"code": "DS900", "line": 1, "message": f"cannot read: {exc}"})
        return entry
    try:
        result = convert_source(source)
    except ParserSyntaxError as exc:
        entry["findings"].append(
            {"code": "DS901", "line": exc.raw_line, "message": f"cannot parse: {exc.message}"}
        )
        return entry
    try:
        tree = ast.parse(result.code)
    except SyntaxError as exc:
        newer = _newer_syntax(source)
        if newer is not None:
            entry["findings"].append(newer)
            return entry
        entry["findings"].append(
            {"code": "DS903", "line": exc.lineno or 1, "message": f"output is not Python: {exc}"}
        )
        return entry
    if result.code != source and convert_source(result.code, tree).code != result.code:
        entry["findings"].append({"code": "DS902", "line": 1, "message": "output is not stable"})
        return entry
    entry.update(
        status=result.status,
        source=source,
        code=result.code,
        findings=[vars(f) for f in result.findings],
        bridged=result.bridged,
        kept=result.kept,
    )
    return entry


def _newer_syntax(source: str) -> dict[str, Any] | None:
    """DS905 when ``source`` parses with libcst's grammar (which knows newer Pythons) but not with
    this interpreter's own parser: the file is written for a newer Python than the one running
    (``type X = ...``, ``def f[T]()``, nested f-string quotes), not a converter fault."""
    try:
        ast.parse(source)
    except SyntaxError as exc:
        running = ".".join(map(str, sys.version_info[:2]))
        return {
            "code": "DS905",
            "line": exc.lineno or 1,
            "message": (
                f"written for a newer Python than {running}, which runs dagshift here "
                f"({exc.msg}); the file is left as it is: run dagshift migrate with the Python "
                "its DAGs run on"
            ),
        }
    return None


def write_report(target: str, entries: list[dict[str, Any]], summary: dict[str, int]) -> None:
    """The report in the format of ``target``'s suffix (.html, .md, else JSON), written
    atomically.

    JSON: ``{"files": [{"path", "status", "findings": [{"code", "line", "message"}],
    "bridged": [{"task_id", "operator"}], "kept": [{"name", "airflow"}]}], "summary": {status:
    count, "bridged": tasks}}`` (``bridged``: operators kept as written in converted DAGs, run by
    the compat shim; ``kept``: other airflow names the converted code keeps, served by the
    shim), plus
    ``"verification"`` per file and ``verified`` /
    ``differs`` counts with ``--verify``. HTML and Markdown come from :mod:`dagshift.verify`.
    """
    if target.endswith((".html", ".md")) or any("verification" in e for e in entries):
        from dagshift.verify.migrate import write_migration_report

        write_migration_report(target, entries, summary)
        return
    files = [
        {
            **{k: e[k] for k in ("path", "status", "findings")},
            "bridged": e.get("bridged", []),
            "kept": e.get("kept", []),
        }
        for e in entries
    ]
    if target.endswith(".md"):
        lines = [
            "# dagshift migrate report",
            "",
            " | ".join(f"{k}: {v}" for k, v in summary.items()),
            "",
            "| file | status | findings |",
            "|---|---|---|",
        ]
        for f in files:
            notes = "<br>".join(
                f"{x['code']} line {x['line']}: {x['message']}" for x in f["findings"]
            )
            lines.append(f"| {f['path']} | {f['status']} | {notes} |")
        text = "\n".join(lines) + "\n"
    else:
        bridged = sum(len(f["bridged"]) for f in files)
        text = json.dumps({"files": files, "summary": {**summary, "bridged": bridged}}, indent=2)
        text += "\n"
    write_atomic(Path(target), text)


def _workers(jobs: int, files: int) -> int:
    """Processes for ``files`` files: ``--jobs N``, or (0) one per CPU unless there are only
    a few files, which one process converts sooner than a pool starts."""
    if jobs > 0:
        return max(1, min(jobs, files))
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cpus or 1, files // _PER_WORKER))


_PER_WORKER = 4  # files a process takes at a time


def _convert_all(paths: list[str], jobs: int) -> list[dict[str, Any]]:
    """Entries in input order; a progress bar on stderr when it is a terminal."""
    workers = _workers(jobs, len(paths))
    pool = None
    if workers > 1:
        import dagshift.converter.convert  # noqa: F401  (imported once here: forked workers share it)

        pool = ProcessPoolExecutor(max_workers=workers)
    # the workers start (fork) before the progress bar's thread does
    results = pool.map(_process, paths, chunksize=_PER_WORKER) if pool else map(_process, paths)
    progress = None
    if sys.stderr.isatty() and len(paths) > 1:
        from rich.console import Console
        from rich.progress import Progress

        progress = Progress(console=Console(stderr=True), transient=True)
        progress.start()
        bar = progress.add_task("migrating", total=len(paths))
    entries = []
    try:
        for entry in results:
            entries.append(entry)
            if progress is not None:
                progress.advance(bar)
    finally:
        if progress is not None:
            progress.stop()
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return entries


def _migrate(args: argparse.Namespace) -> int:
    if args.list_rules:
        from dagshift.converter.rules import RULES

        for name, description in RULES.items():
            print(f"{name:16s} {description}")
        return 0
    if args.verify not in (None, "run", "graph"):  # `--verify dags/`: the folder is a PATH
        args.paths.insert(0, args.verify)
        args.verify = "run"
    if not args.paths:
        print("dagshift migrate: give at least one PATH", file=sys.stderr)
        return 2
    if args.verify_timeout < 0 or args.verify_timeout != args.verify_timeout:  # NaN too
        print(
            "dagshift migrate: --verify-timeout takes 0 (no limit) or more seconds", file=sys.stderr
        )
        return 2
    pairs = _files(args.paths, args.exclude)
    paths = [str(p) for p, _ in pairs]
    entries = _convert_all(paths, args.jobs)
    changed = False
    out_root = Path(args.out or "dagshift-out")
    for (path, root), entry in zip(pairs, entries, strict=True):
        for f in entry["findings"]:
            print(f"{path}:{f['line']}: {f['code']} {f['message']}", file=sys.stderr)
        if entry["status"] not in ("converted", "partial") or entry["code"] == entry["source"]:
            continue
        changed = True
        if args.diff:
            sys.stdout.writelines(
                difflib.unified_diff(
                    entry["source"].splitlines(True),
                    entry["code"].splitlines(True),
                    str(path),
                    str(path),
                )
            )
        if args.check or args.diff:
            continue
        target = path if args.in_place else out_root / path.relative_to(root)
        write_atomic(target, entry["code"], path.stat().st_mode & 0o777)
    counts = Counter(e["status"] for e in entries)
    summary = {s: counts.get(s, 0) for s in _STATUSES}
    differs = 0
    if args.verify:
        from dagshift.cliutil import stdout_to_stderr as _stdout_to_stderr

        with _stdout_to_stderr():  # what the verified tasks print stays off stdout (diffs)
            differs = _verify(args, entries)
    if args.report:
        write_report(args.report, entries, summary)
    line = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in summary.items())
    bridged = sum(len(e.get("bridged", ())) for e in entries)
    if bridged:  # operators kept as written: the converted files need the compat shim to run
        line += f"; {bridged} operator{'s' if bridged > 1 else ''} bridged"
    if args.verify:
        verified = sum(1 for e in entries if e.get("verification") is not None)
        line += f"; verified {verified - differs} of {verified}, {differs} differ"
    print(line, file=sys.stderr)
    if summary["failed"]:
        return 2
    return 1 if (args.check and changed) or differs else 0


def _verify(args: argparse.Namespace, entries: list[dict[str, Any]]) -> int:
    """Verify every converted or partial file; print what differs; return how many differ."""
    import pendulum

    from dagshift.cliutil import param as _param
    from dagshift.verify.migrate import verify_entry

    date = args.verify_date or pendulum.now("UTC").start_of("day").isoformat()
    params = dict(_param(p) for p in args.params)
    differs = 0
    for entry in entries:
        verify_entry(
            entry,
            logical_date=date,
            parameters=params,
            run=args.verify == "run",
            time_limit=args.verify_timeout or None,
        )
        checks = entry.get("verification")
        if checks is None:
            continue
        if all(c["ok"] for c in checks):
            names = ", ".join(str(c["flow"]) for c in checks)
            varying = sorted({t for c in checks for t in c.get("varying", ())})
            note = f"; not compared, they vary between runs of the original: {', '.join(varying)}"
            print(f"{entry['path']}: verified ({names}{note if varying else ''})", file=sys.stderr)
            continue
        differs += 1
        for check in checks:
            for d in check["differences"]:
                print(f"{entry['path']}: {check['flow']}: {d['message']}", file=sys.stderr)
    return differs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dagshift migrate")
    _add_arguments(parser)
    return _migrate(parser.parse_args(argv))
