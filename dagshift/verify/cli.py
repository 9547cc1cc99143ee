"""``dagshift verify ORIGINAL CONVERTED``: the same graph, the same results?"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from dagshift.verify.compare import FlowVerification, verify_flows

__all__ = ["register", "verify_paths"]


def verify_paths(
    original: str | Path,
    converted: str | Path,
    *,
    logical_date: Any = None,
    parameters: dict[str, Any] | None = None,
) -> list[FlowVerification]:
    """Load the original through the import shim and the converted file through the runtime,
    then verify every flow. Raises LoadError when either file cannot be loaded."""
    from dagshift.cliutil import prepare_imports as _prepare_imports
    from dagshift.runtime.loader import load_path

    _prepare_imports()
    before = load_path(original)
    after = load_path(converted)
    return verify_flows(before, after, logical_date=logical_date, parameters=parameters)


def print_verification(checks: list[FlowVerification], file=None) -> None:
    file = file or sys.stdout
    for check in checks:
        if check.ok:
            run = check.original_run
            count = f" ({len(run.tasks)} tasks)" if run else ""
            print(f"✓ {check.flow}: same graph, same states and results{count}", file=file)
            continue
        print(f"✗ {check.flow}: {len(check.differences)} difference(s)", file=file)
        for diff in check.differences:
            print(f"    {diff.kind:<18} {diff.message}", file=file)


def _verify(args: argparse.Namespace) -> int:
    from dagshift.cliutil import err as _err
    from dagshift.runtime.loader import LoadError

    try:
        checks = verify_paths(
            args.original, args.converted, logical_date=args.date, parameters=dict(args.params)
        )
    except LoadError as exc:
        _err(f"cannot load {exc}")
        return 2
    if not checks:
        _err(f"no flows or DAGs found in {args.original}")
        return 2
    if args.json:
        print(
            json.dumps(
                {"flows": [c.to_dict() for c in checks], "ok": all(c.ok for c in checks)}, indent=2
            )
        )
    else:
        print_verification(checks)
    return 0 if all(c.ok for c in checks) else 1


def register(sub: argparse._SubParsersAction) -> None:
    from dagshift.cliutil import param as _param

    p = sub.add_parser(
        "verify",
        help="check that a converted file is the same DAG and gives the same results",
        description="Load ORIGINAL (an Airflow DAG file, through the import shim) and CONVERTED "
        "(its dagshift flow), compare their graphs, run both at the same logical date and "
        "parameters, and print what differs, task by task. Exit 1 on any difference.",
    )
    p.add_argument("original")
    p.add_argument("converted")
    p.add_argument("--date", default=None, help="the logical date of both runs (default: today)")
    p.add_argument(
        "--param", dest="params", action="append", type=_param, default=[], metavar="KEY=VALUE"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_verify)
