"""Bad input never crashes the converter: real DAG files (Airflow's own examples, installed with
the test extra, and our fixtures), mutated the way broken files come in — a line deleted,
duplicated, two lines swapped, a stray token inserted — each give a finding or a converted file.

A mutant is converted through the CLI's per-file path (``_convert_file``: convert, parse the
output, convert it again to prove it stable). The only failures allowed are the input's own:
DS901 (it does not parse) and DS905 (syntax newer than this Python). A DS904 (the converter
raised), DS902 (unstable output) or DS903 (output that is not Python) is a converter bug.
"""

from __future__ import annotations

import importlib.machinery
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dagshift.converter.cli import _convert_file

ROOT = Path(__file__).resolve().parents[2]


def _corpus() -> list[Path]:
    spec = importlib.machinery.PathFinder.find_spec("airflow")
    roots = [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
    examples = sorted({p for r in roots for p in r.rglob("example_dags/*.py")})
    fixtures = sorted((ROOT / "fixtures" / "dags").glob("*.py"))
    return [p for p in examples + fixtures if p.name != "__init__.py"]


CORPUS = _corpus()
STRAY = ["(", ")", "]", ":", ">>", "@task", "dag=", "'''", "lambda", "\\", "\t", "yield", "{{"]
ALLOWED = {"DS901", "DS905"}
STATUSES = {"converted", "partial", "unchanged", "not_a_dag"}


@st.composite
def mutants(draw: st.DrawFn) -> str:
    lines = draw(st.sampled_from(CORPUS)).read_text().splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 3))):
        if len(lines) < 2:
            break
        i = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["delete", "duplicate", "swap", "stray"]))
        if kind == "delete":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            at = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:at] + draw(st.sampled_from(STRAY)) + lines[i][at:]
    return "".join(lines)


@pytest.mark.skipif(not CORPUS, reason="no Airflow example DAGs installed")
@settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(source=mutants())
def test_a_mutated_real_dag_file_gives_a_finding_or_a_converted_file(
    source: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("mutant") / "dag.py"
    path.write_text(source)
    entry = _convert_file(str(path))  # raises on a converter bug: hypothesis shrinks it
    codes = {f["code"] for f in entry["findings"]}
    if entry["status"] == "failed":
        assert codes and codes <= ALLOWED, entry["findings"]
    else:
        assert entry["status"] in STATUSES
        assert not codes & {"DS902", "DS903", "DS904"}
        if entry["status"] == "partial":
            assert "# dagshift: TODO(" in entry["code"]


def test_a_todo_on_the_first_statement_of_a_file_is_written_once() -> None:
    """The case the mutation test found: a statement marked TODO that comes first in the file
    (libcst reads the comment above it back as the module's header) is not marked again when
    the output is converted again."""
    from dagshift.converter.convert import convert_source

    source = (
        "runs = DagModel\n"
        "from airflow.models import DagModel\n"
        "from airflow.sdk import DAG\n"
        "from airflow.providers.standard.operators.bash import BashOperator\n"
        'with DAG("d", schedule=None):\n'
        '    BashOperator(task_id="t", bash_command=":", executor_config={})\n'
    )
    once = convert_source(source).code
    assert once.count("# dagshift: TODO(DS002)") == 1
    assert convert_source(once).code == once
