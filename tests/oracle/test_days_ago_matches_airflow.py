"""``days_ago(...)`` converted gives the value Airflow 2.11's own ``days_ago`` gives.

Each form (positional and named hour/minute/second/microsecond, a fraction of a day, days
ahead, through ``airflow.utils.dates`` and a module import) is converted as a DAG's
``start_date``; the expression the converter writes and Airflow's call are evaluated side by
side in one Airflow 2.11 process (``.venv-airflow2``), so both read the same clock.
"""

from __future__ import annotations

import json
import subprocess

import libcst as cst
import pytest

from dagshift.converter.convert import convert_source
from tests.oracle.harness import airflow_python

pytestmark = pytest.mark.oracle

CALLS = [
    "days_ago(2)",
    "days_ago(0)",
    "days_ago(1.5)",
    "days_ago(-3)",
    "days_ago(2, hour=6, minute=30)",
    "days_ago(3, 4, 5)",
    "days_ago(1, 23, 59, 58, 999)",
    "days_ago(n=1, microsecond=7)",
    "dates.days_ago(4, second=9)",
    "airflow.utils.dates.days_ago(1, minute=1)",
]

_DAG = """\
import airflow
from airflow import DAG
from airflow.utils import dates
from airflow.utils.dates import days_ago

with DAG("d", start_date={call}, schedule_interval=None) as dag:
    pass
"""


def _converted(call: str) -> str:
    """The expression the converter writes for ``call`` as the flow's start_date."""
    result = convert_source(_DAG.format(call=call))
    assert result.status == "converted", result.findings
    module = cst.parse_module(result.code)
    flow = next(n for n in module.body if isinstance(n, cst.With)).items[0].item
    value = next(a.value for a in flow.args if a.keyword and a.keyword.value == "start_date")
    code = module.code_for_node(value)
    assert "days_ago" not in code
    return code


_ORACLE = """\
import json, warnings
warnings.simplefilter("ignore")
import airflow.utils.dates
import pendulum
from airflow.utils import dates
from airflow.utils.dates import days_ago

out = []
for airflow_call, ours in json.loads({pairs!r}):
    for _ in range(3):  # the day may turn between the calls: then all again
        theirs, mine, again = eval(airflow_call), eval(ours), eval(airflow_call)
        if again == theirs:
            break
    out.append([theirs.isoformat(), mine.isoformat(), theirs == mine, str(mine.utcoffset())])
print(json.dumps(out))
"""


def test_days_ago_in_every_form_converts_to_airflows_value() -> None:
    python = airflow_python("2")
    if not python.exists():
        pytest.skip(f"{python} is not installed")
    pairs = [[call, _converted(call)] for call in CALLS]
    script = _ORACLE.format(pairs=json.dumps(pairs))
    done = subprocess.run(
        [str(python), "-c", script], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout.strip().splitlines()[-1])
    for call, (theirs, mine, same, offset) in zip(CALLS, rows, strict=True):
        assert same, f"{call}: Airflow {theirs}, converted {mine}"
        assert offset == "0:00:00", call  # UTC, as Airflow's
