"""``dagshift ui``, and ``serve --ui PORT``: the web UI's commands.

Registered by ``dagshift/cli.py`` after the history's commands, so the history's ``serve`` needs
no knowledge of the UI: this module adds ``--ui``/``--ui-host`` to it and a *companion* that
starts the UI in the service's process. Nothing here imports the UI's extra until a command
runs, so ``dagshift`` works without it.
"""

from __future__ import annotations

import argparse
from typing import Any

from dagshift.cliutil import err as _err
from dagshift.history.cli import db_option, open_history, results_option

__all__ = ["register"]


def _ui(args: argparse.Namespace) -> int:
    from dagshift.history.store import StoreError

    try:
        from dagshift.ui.server import serve
    except ImportError as exc:
        _err(f"the UI needs its extra: pip install 'dagshift[ui]' ({exc})")
        return 2
    if not 0 < args.port < 65536:
        _err(f"--port must be between 1 and 65535, got {args.port}")
        return 2
    try:
        store, results = open_history(args)
    except StoreError as exc:
        _err(str(exc))
        return 2
    return serve(
        store,
        results,
        host=args.host,
        port=args.port,
        token=args.token,
        read_only=args.read_only,
        report=args.report,
    )


def _start_beside_serve(args: argparse.Namespace, store: Any, results: Any) -> Any:
    """``serve --ui PORT``: the web UI in the same process, on loopback unless --ui-host.

    Returns the function that stops it (``serve`` calls it on its way out), or None."""
    if args.ui is None:
        return lambda: None
    try:
        from dagshift.ui.server import start_in_thread
    except ImportError as exc:
        _err(f"--ui needs the UI's extra: pip install 'dagshift[ui]' ({exc})")
        return None
    server = start_in_thread(store, results, host=args.ui_host, port=args.ui)
    return lambda: setattr(server, "should_exit", True)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``ui`` to the ``dagshift`` command, and ``--ui`` to ``serve``."""
    serve = sub.choices.get("serve")
    if serve is not None:
        serve.add_argument(
            "--ui",
            type=int,
            metavar="PORT",
            help="also serve the web UI on this port, in this process (see dagshift ui)",
        )
        serve.add_argument(
            "--ui-host",
            default="127.0.0.1",
            help="with --ui: the address to bind (beyond loopback a token is printed)",
        )
        serve.set_defaults(
            companions=[*(serve.get_default("companions") or ()), _start_beside_serve]
        )

    p = sub.add_parser(
        "ui",
        help="web pages and a GraphQL API over the run history",
        description="Serve the run history as web pages (flows, versions, runs, task logs; "
        "start, resume and cancel runs) and as a GraphQL API at /graphql. Loopback only by "
        "default; any other --host needs a token (generated and printed when not given).",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8790, help="port (default 8790)")
    p.add_argument(
        "--token", help="the token clients must give (default: $DAGSHIFT_UI_TOKEN, else new)"
    )
    p.add_argument("--read-only", action="store_true", help="refuse to start, resume or cancel")
    p.add_argument(
        "--report",
        metavar="FILE.json",
        help="show this `dagshift migrate --report FILE.json` at /migration",
    )
    db_option(p)
    results_option(p)
    p.set_defaults(func=_ui)
