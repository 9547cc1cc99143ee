"""The lowest versions dagshift declares really work: it must install beside a team's pins.

A fresh environment gets every direct dependency at its declared floor (``uv pip install
--resolution lowest-direct``, e.g. networkx 3.1, which real Airflow repositories pin), then runs
a legacy DAG through the shim, converts it and runs the converted flow, as a user would.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.oracle.harness import ROOT

pytestmark = pytest.mark.slow

UV = Path(sys.executable).with_name("uv")
FLOORS = {
    "networkx": "3.1",
    "pendulum": "3.0.0",
    "libcst": "1.4.0",
    "dask": "2024.8.0",
    "rich": "13.0.0",
    "croniter": "2.0.0",
    "cloudpickle": "3.0.0",
    "pathspec": "0.10.1",
}


@pytest.fixture(scope="module")
def lowest(tmp_path_factory):
    venv = tmp_path_factory.mktemp("lowest") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    proc = subprocess.run(
        [str(UV), "pip", "install", "-q", "--python", str(python)]
        + ["--resolution", "lowest-direct", "-e", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return venv / "bin"


def _run(bin_dir, *args, cwd):
    proc = subprocess.run(
        [str(bin_dir / "dagshift"), *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.skipif(not UV.exists(), reason="uv is installed by `make setup`")
def test_dagshift_works_with_every_dependency_at_its_declared_floor(lowest, tmp_path):
    listed = subprocess.run(
        [str(lowest / "python"), "-m", "pip", "list", "--format=json"],
        capture_output=True,
        text=True,
    ).stdout
    versions = {p["name"].lower(): p["version"] for p in json.loads(listed)}
    assert {name: versions.get(name) for name in FLOORS} == FLOORS
    dag = ROOT / "fixtures" / "dags" / "af2_taskflow_etl.py"
    code, out, err = _run(lowest, "run", str(dag), "--json", "--date", "2024-01-15", cwd=tmp_path)
    assert code == 0, err
    legacy = json.loads(out[out.index("{") :])
    code, _, err = _run(lowest, "migrate", str(dag), "--out", str(tmp_path / "flows"), cwd=tmp_path)
    assert code in (0, 1), err
    flow = tmp_path / "flows" / dag.name
    code, out, err = _run(lowest, "run", str(flow), "--json", "--date", "2024-01-15", cwd=tmp_path)
    assert code == 0, err
    converted = json.loads(out[out.index("{") :])
    assert legacy.keys() == converted.keys()
    for name in legacy:
        assert legacy[name]["state"] == converted[name]["state"] == "success"
