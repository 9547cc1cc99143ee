"""``airflow.sdk.timezone`` under the shim answers exactly as Airflow 3's module does."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.compat.airflow_graphs import airflow_graph, shim_graph
from tests.oracle.harness import airflow_python

# Every name Airflow 3's module exports, called on naive and aware values, printed with repr
# (which tells a pendulum DateTime from a datetime.datetime, and shows the zone).
_PROBE = """
import datetime as dt
from airflow.providers.common.compat.sdk import timezone as compat_tz
from airflow.sdk import timezone as tz
import airflow.sdk.timezone as module_tz

print(tz is compat_tz is module_tz)
naive, aware = dt.datetime(2024, 3, 31, 1, 30), dt.datetime(2024, 3, 31, 1, 30, tzinfo=dt.UTC)
print(repr(tz.utc), type(tz.utcnow()).__name__, tz.utcnow().tzinfo == tz.utc)
print(repr(tz.datetime(2022, 1, 1)), repr(tz.datetime(2022, 1, 1, tzinfo=dt.UTC)))
print(repr(tz.coerce_datetime(naive)), repr(tz.coerce_datetime(aware)), tz.coerce_datetime(None))
print(repr(tz.convert_to_utc(naive)), repr(tz.convert_to_utc(aware)))
print(repr(tz.make_naive(aware)), repr(tz.parse("2024-07-01T10:00")), repr(tz.from_timestamp(0)))
print(repr(tz.from_timestamp(86400, "Asia/Tokyo")))
try:  # Airflow 3 does not export it (the shim says so with an ImportError naming the path)
    tz.make_aware
except (AttributeError, ImportError):
    print("no make_aware")
try:
    tz.make_naive(naive)
except ValueError as error:
    print("ValueError", error)
tz.initialize("America/New_York")
print(repr(tz.datetime(2024, 11, 3, 1, 30)), repr(tz.parse("2024-07-01T10:00")))
"""


def _run(python: list[str], default_timezone: str | None, tmp_path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DAGSHIFT"))}
    env["AIRFLOW_HOME"] = str(tmp_path)
    if default_timezone:
        env["AIRFLOW__CORE__DEFAULT_TIMEZONE"] = default_timezone
    script = tmp_path / "probe.py"
    script.write_text(_PROBE)
    proc = subprocess.run(
        [*python, str(script)], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.oracle
@pytest.mark.parametrize("default_timezone", [None, "Europe/Amsterdam"])
def test_sdk_timezone_gives_what_airflow_3_gives(default_timezone, tmp_path):
    airflow = _run([str(airflow_python("3"))], default_timezone, tmp_path)
    install = "import dagshift.compat as c, sys; c.install(); exec(open(sys.argv[1]).read())"
    shim = [sys.executable, "-c", install]
    ours = _run(shim, default_timezone, tmp_path)
    assert ours == airflow
    assert "True" in airflow.splitlines()[0]  # the three import paths are one module
    if default_timezone:
        assert "Europe/Amsterdam" in airflow  # the setting is read, on both sides


_PARENT = (
    Path(airflow_python("3")).parents[1].glob("lib/python3*/site-packages").__next__()
    / "airflow/providers/standard/example_dags/example_external_task_parent_deferrable.py"
)


@pytest.mark.oracle
def test_the_example_that_imports_it_loads_as_in_airflow(load, tmp_path):
    # It starts at timezone.datetime(2022, 1, 1) through the common.compat path.
    assert shim_graph(load, _PARENT) == airflow_graph(_PARENT, "3", tmp_path)
