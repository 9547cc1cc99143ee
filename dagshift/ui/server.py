"""``dagshift ui``: the web UI and GraphQL API on a uvicorn server.

Loopback (127.0.0.1) by default, without a token. Any other ``--host`` needs a token: the one
given with ``--token`` (or ``$DAGSHIFT_UI_TOKEN``), else a new one, printed with the address
to open.
"""

from __future__ import annotations

import os
import secrets
import socket
import sys

from dagshift.history.checkpoint import ResultStore
from dagshift.history.store import Store
from dagshift.ui.security import is_loopback

__all__ = ["ENV_TOKEN", "serve", "start_in_thread"]

ENV_TOKEN = "DAGSHIFT_UI_TOKEN"


def _config(store, results, host, port, token, read_only, report=None):
    import uvicorn

    from dagshift.ui.app import create_app

    token = token or os.environ.get(ENV_TOKEN) or None
    if token is None and not is_loopback(host):
        token = secrets.token_urlsafe(32)
    allowed: set[str] = set()
    if host in ("0.0.0.0", "::"):  # every interface: the names this machine is reached by
        allowed = {socket.gethostname().lower(), socket.getfqdn().lower()}
    app = create_app(
        store,
        results,
        host=host,
        token=token,
        read_only=read_only,
        allowed_hosts=allowed,
        report=report,
    )
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/" + (f"?token={token}" if token else "")
    print(f"dagshift ui on {store.path}: open {url}", file=sys.stderr, flush=True)
    return uvicorn.Config(
        app, host=host, port=port, log_level="warning", ws="websockets-sansio", lifespan="off"
    )


def start_in_thread(
    store: Store,
    results: ResultStore,
    *,
    host: str = "127.0.0.1",
    port: int = 8790,
    token: str | None = None,
    read_only: bool = False,
):
    """Serve the UI from a daemon thread (``serve --ui``); return the uvicorn Server (set its
    ``should_exit`` to stop it). Signals stay with the main thread's service."""
    import threading

    import uvicorn

    server = uvicorn.Server(_config(store, results, host, port, token, read_only))
    threading.Thread(target=server.run, name="dagshift-ui", daemon=True).start()
    return server


def serve(
    store: Store,
    results: ResultStore,
    *,
    host: str = "127.0.0.1",
    port: int = 8790,
    token: str | None = None,
    read_only: bool = False,
    report: str | None = None,
) -> int:
    """Serve until interrupted; return the exit status."""
    import uvicorn

    uvicorn.Server(_config(store, results, host, port, token, read_only, report)).run()
    return 0
