"""Airflow 3.3's asset state store in the history: JSON values per asset name and key.

What ``context["asset_state_store"][asset]`` reads and writes in a recorded run (the shim's
:mod:`dagshift.compat.asset_state`); every process on the same history file sees one store, as
every worker sees Airflow's metadata database. Each call is one short transaction.
"""

from __future__ import annotations

import json
import time
from typing import Any

from dagshift.history.store import Store

__all__ = ["state_clear", "state_delete", "state_get", "state_set"]


def state_get(path: str, asset: str, key: str, default: Any = None) -> Any:
    """The value kept under ``key`` for ``asset``, or ``default``."""
    store = Store(path)
    try:
        rows = store._query(
            "SELECT value FROM asset_state WHERE asset = ? AND key = ?", (asset, key)
        )
    finally:
        store.close()
    return json.loads(rows[0]["value"]) if rows else default


def state_set(path: str, asset: str, key: str, value: Any) -> None:
    """Keep ``value`` (JSON) under ``key`` for ``asset``, replacing what was there."""
    text = json.dumps(value)
    store = Store(path)
    try:
        store._change(
            "write the asset state store",
            (
                "INSERT OR REPLACE INTO asset_state (asset, key, value, updated) "
                "VALUES (?, ?, ?, ?)",
                (asset, key, text, time.time()),
            ),
        )
    finally:
        store.close()


def state_delete(path: str, asset: str, key: str | None = None) -> None:
    """Forget ``key`` for ``asset`` (every key when ``key`` is None)."""
    where, args = (
        ("asset = ?", (asset,)) if key is None else ("asset = ? AND key = ?", (asset, key))
    )
    store = Store(path)
    try:
        store._change(
            "write the asset state store", (f"DELETE FROM asset_state WHERE {where}", args)
        )
    finally:
        store.close()


def state_clear(path: str, asset: str) -> None:
    """Forget every key of ``asset``."""
    state_delete(path, asset)
