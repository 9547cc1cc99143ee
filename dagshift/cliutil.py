"""What every ``dagshift`` subcommand shares: argument parsing helpers, JSON output, messages.

Subcommand modules (``converter/cli.py``, ``history/cli.py``, ...) import these from here, never
from ``dagshift.cli``: the entry point imports them, not the other way round.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import sys
from typing import Any

__all__ = ["err", "jsonable", "param", "prepare_imports", "stdout_to_stderr"]


def param(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` as a pair; VALUE is JSON if it parses (numbers, lists keep their type)."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, raw = text.split("=", 1)
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return key.strip(), value


def prepare_imports() -> None:
    """Let unmodified Airflow DAG files import ``airflow`` from the compat shim."""
    try:
        compat = importlib.import_module("dagshift.compat")
    except ImportError:
        return
    install = getattr(compat, "install", None)
    if callable(install):
        install()


def err(message: str) -> None:
    print(f"dagshift: {message}", file=sys.stderr)


@contextlib.contextmanager
def stdout_to_stderr():
    """What user code prints goes to stderr while a command's own output owns stdout."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no file descriptor behind stdout (an embedding program)
        with contextlib.redirect_stdout(sys.stderr):
            yield
        return
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 1)
        os.close(saved)


def jsonable(value: Any) -> Any:
    """``value`` with everything JSON cannot hold replaced by its repr."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {
            (
                k
                if isinstance(k, str)
                else str(k) if isinstance(k, int | float | bool) else repr(k)
            ): jsonable(v)
            for k, v in value.items()
        }
    return repr(value)
