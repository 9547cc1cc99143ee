"""``airflow.operators.python.is_venv_installed`` through the shim answers as Airflow 2.11's
does: True when a ``virtualenv`` executable is on the PATH, else whether the package imports.
A DAG file asks it to decide whether to define its virtualenv DAG at all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.oracle.harness import airflow_python

pytestmark = pytest.mark.oracle

_ASK = (
    "import warnings; warnings.simplefilter('ignore'); {install}"
    "from airflow.operators.python import is_venv_installed; print(is_venv_installed())"
)


def _answer(python: str, path: str, shim: bool) -> str:
    install = "import dagshift.compat; dagshift.compat.install(); " if shim else ""
    done = subprocess.run(
        [python, "-c", _ASK.format(install=install)],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": path},
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_the_shims_is_venv_installed_answers_as_airflows(tmp_path: Path) -> None:
    airflow = airflow_python("2")
    if not airflow.exists():
        pytest.skip(f"{airflow} is not installed")
    bare = "/usr/bin:/bin"
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "virtualenv").write_text("#!/bin/sh\nexit 0\n")
    (fake / "virtualenv").chmod(0o755)
    for path in (bare, f"{fake}:{bare}"):
        theirs = _answer(str(airflow), path, shim=False)
        ours = _answer(sys.executable, path, shim=True)
        assert ours == theirs, path
    assert _answer(sys.executable, f"{fake}:{bare}", shim=True) == "True"
