"""Real-corpus test: example DAGs shipped with Airflow 1.10.15, 2.0.2 and 2.11.0.

The wheels are fetched with ``pip download --no-deps`` at test time and cached in
``~/.cache/dagshift/corpus`` (never in the repository); the test skips when they cannot be had.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import libcst as cst
import pytest

from dagshift.converter.convert import convert_source

CACHE = Path.home() / ".cache" / "dagshift" / "corpus"
VERSIONS = ("1.10.15", "2.0.2", "2.11.0")


def _wheel(version: str) -> Path | None:
    found = sorted(CACHE.glob(f"apache_airflow-{version}-*.whl"))
    if not found:
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                "--only-binary=:all:",
                "-d",
                str(CACHE),
                f"apache-airflow=={version}",
            ],
            capture_output=True,
            timeout=300,
            check=False,
        )
        found = sorted(CACHE.glob(f"apache_airflow-{version}-*.whl"))
    return found[0] if found else None


@pytest.mark.parametrize("version", VERSIONS)
def test_every_example_dag_of_an_airflow_release_converts_stably(version: str) -> None:
    wheel = _wheel(version)
    if wheel is None:
        pytest.skip(f"apache-airflow {version} could not be downloaded")
    with zipfile.ZipFile(wheel) as zf:
        names = [n for n in zf.namelist() if "example_dags/" in n and n.endswith(".py")]
        assert names, "the wheel holds example DAGs"
        for name in names:
            source = zf.read(name).decode("utf-8")
            result = convert_source(source)
            assert result.status in {"converted", "unchanged", "not_a_dag"}, name
            cst.parse_module(result.code)
            assert convert_source(result.code).code == result.code, name
