"""Which ``default_args`` keys can reach a converted task, read off real Airflow.

Airflow applies a ``default_args`` key to an operator only when the operator's constructor (or a
base class's) names it. The converter keeps a DAG whose ``default_args`` hold a key it does not
convert only when that key can reach a task it converts; any other key reaches only operators kept
as written, which get the DAG's ``default_args`` whole. So the converter's list of the parameters
of the operators it converts must hold every one real Airflow has (2.11 and 3.x here; 1.10.15's
are read from its sources by the converter's own comment and kept in the list too).
"""

from __future__ import annotations

import json
import subprocess

import pytest

from dagshift.converter.rules.operators import CONVERTED_OPERATOR_PARAMETERS
from tests.oracle.harness import airflow_python

pytestmark = pytest.mark.oracle

_SCRIPT = """
import inspect, json, warnings
warnings.filterwarnings("ignore")
try:
    from airflow.providers.standard.operators.python import (
        BranchPythonOperator, PythonOperator, ShortCircuitOperator)
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.providers.standard.decorators.python import _PythonDecoratedOperator
except ImportError:
    from airflow.operators.python import (
        BranchPythonOperator, PythonOperator, ShortCircuitOperator)
    from airflow.operators.bash import BashOperator
    from airflow.operators.empty import EmptyOperator
    from airflow.decorators.python import _PythonDecoratedOperator
names = set()
for op in (PythonOperator, BranchPythonOperator, ShortCircuitOperator, BashOperator,
           EmptyOperator, _PythonDecoratedOperator):
    for cls in op.__mro__:
        init = cls.__dict__.get("__init__")
        if init is None:
            continue
        try:
            parameters = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):
            continue
        kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        names.update(p.name for p in parameters if p.kind in kinds)
names.discard("self")
print(json.dumps(sorted(names)))
"""


@pytest.mark.parametrize("generation", ["2", "3"])
def test_every_parameter_of_a_converted_operator_in_real_airflow_is_known(generation):
    python = airflow_python(generation)
    done = subprocess.run(
        [str(python), "-c", _SCRIPT], capture_output=True, text=True, timeout=300, check=True
    )
    real = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert {"retries", "python_callable", "bash_command"} <= real  # it read the real classes
    assert real <= CONVERTED_OPERATOR_PARAMETERS, sorted(real - CONVERTED_OPERATOR_PARAMETERS)
