"""Shared helpers: the shim installed for one test, DAG files written to a temp folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def shim():
    """The Airflow shim installed in this process for the test, removed after it."""
    import dagshift.compat

    dagshift.compat.install()
    yield
    dagshift.compat.uninstall()


@pytest.fixture
def dag_file(tmp_path):
    """Write a DAG file (dedented) and return its path."""

    def write(source: str, name: str = "dag.py") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
        return path

    return write


@pytest.fixture
def load(shim):
    """Load a DAG file through the shim: {dag_id: flow}."""
    from dagshift.runtime.loader import load_file

    def go(path: Path) -> dict:
        return {flow.name: flow for flow in load_file(path)}

    return go


def dagshift(*args: str, env: dict | None = None, cwd: Path | None = None):
    """Run the dagshift command in a subprocess; return (exit status, stdout, stderr)."""
    proc = subprocess.run(
        [sys.executable, "-m", "dagshift", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd or ROOT,
        timeout=300,
    )
    return proc.returncode, proc.stdout, proc.stderr


def run_json(path: Path, *args: str, env: dict | None = None, db: Path | None = None) -> dict:
    """``dagshift run PATH --json`` (logical date 2024-01-15 unless given)."""
    extra = [] if "--date" in args or "--dates" in args else ["--date", "2024-01-15"]
    db = db or Path(tempfile.mkdtemp(prefix="dagshift-test-")) / "history.db"
    code, out, err = dagshift("run", str(path), "--json", "--db", str(db), *extra, *args, env=env)
    assert out.strip(), f"no JSON from dagshift run (exit {code}):\n{err}"
    return json.loads(out) | {"__exit__": code}
