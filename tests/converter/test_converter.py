"""Golden cases, safety checks, CLI behaviour and a corpus test for ``dagshift migrate``."""

from __future__ import annotations

import json
from pathlib import Path

import libcst as cst
import pytest

from dagshift.converter.cli import main
from dagshift.converter.convert import convert_source
from dagshift.runtime.loader import load_path

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = sorted((ROOT / "fixtures" / "convert").glob("*/*.py"))


def _split(path: Path) -> tuple[str, str]:
    text = path.read_text()
    if "\n# output\n" in text:
        before, after = text.split("\n# output\n", 1)
        return before + "\n", after
    return text, text


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_golden_case_converts_to_expected_output_and_is_stable(path: Path) -> None:
    source, expected = _split(path)
    result = convert_source(source)
    assert result.code == expected
    cst.parse_module(result.code)
    assert convert_source(result.code).code == result.code


def test_unsupported_operator_keeps_file_and_reports_line() -> None:
    source, _ = _split(ROOT / "fixtures/convert/unsupported/sensor_kept.py")
    result = convert_source(source)
    assert result.status == "unchanged"
    assert [(f.code, f.line) for f in result.findings] == [("DS030", 5)]


def test_converted_flow_keeps_task_ids_edges_and_results() -> None:
    source, _ = _split(ROOT / "fixtures/convert/operators/python_bash_empty.py")
    out = convert_source(source).code
    path = ROOT / ".pytest_cache" / "converted_flow_under_test.py"
    path.parent.mkdir(exist_ok=True)
    path.write_text(out)
    (flow,) = load_path(str(path))
    assert flow.name == "demo"
    assert set(flow.graph.edges) == {("start", "extract_it"), ("extract_it", "echo")}
    run = flow.run(logical_date="2024-01-15")
    assert run.state == "success"
    assert run.tasks["extract_it"].result == 42
    assert run.tasks["echo"].result == "2024-01-15"
    assert flow.graph.nodes["extract_it"]["task"].options["retries"] == 2


def test_converting_never_imports_or_runs_the_input(tmp_path: Path) -> None:
    marker = tmp_path / "imported"
    dag = tmp_path / "dags" / "evil.py"
    dag.parent.mkdir()
    dag.write_text(
        f"open({str(marker)!r}, 'w').close()\n"
        "from airflow import DAG\nfrom airflow.operators.empty import EmptyOperator\n"
        "with DAG('evil') as dag:\n    EmptyOperator(task_id='x')\n"
    )
    assert main([str(dag.parent), "--out", str(tmp_path / "out")]) == 0
    assert not marker.exists()


def test_cli_writes_a_mirror_tree_reports_failures_and_leaves_input_alone(tmp_path: Path) -> None:
    src = tmp_path / "dags"
    (src / "sub").mkdir(parents=True)
    golden, _ = _split(ROOT / "fixtures/convert/operators/legacy_dummy.py")
    (src / "sub" / "legacy.py").write_text(golden)
    (src / "broken.py").write_text("x = (\n")
    (src / "plain.py").write_text("print(1)\n")
    report = tmp_path / "report.json"
    code = main([str(src), "--out", str(tmp_path / "out"), "--report", str(report)])
    assert code == 2
    assert (src / "sub" / "legacy.py").read_text() == golden
    assert "Flow(" in (tmp_path / "out" / "sub" / "legacy.py").read_text()
    data = json.loads(report.read_text())
    assert data["summary"]["converted"] == 1 and data["summary"]["failed"] == 1
    assert {f["status"] for f in data["files"]} == {"converted", "failed", "not_a_dag"}
    assert main([str(tmp_path / "out"), "--check"]) == 0
    assert main([str(src / "sub"), "--check", "--jobs", "2"]) == 1


def _airflow_examples() -> list[Path]:
    import importlib.util

    spec = importlib.util.find_spec("airflow")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return []
    roots = [Path(p) for p in spec.submodule_search_locations]
    return sorted({p for r in roots for p in r.rglob("example_dags/**/*.py")})


def test_every_installed_airflow_example_dag_converts_without_crash_and_is_stable() -> None:
    files = _airflow_examples()
    if not files:
        pytest.skip("apache-airflow is not installed")
    for path in files:
        result = convert_source(path.read_text())
        assert result.status in {"converted", "unchanged", "not_a_dag"}, path
        cst.parse_module(result.code)
        assert convert_source(result.code).code == result.code, path


def test_other_airflow_names_in_user_code_keep_the_file_unconverted_with_their_line() -> None:
    source, _ = _split(ROOT / "fixtures/convert/unsupported/variable_kept.py")
    result = convert_source(source)
    assert result.status == "unchanged"
    assert [(f.code, f.line) for f in result.findings] == [("DS002", 7)]


@pytest.mark.parametrize(
    ("case", "code", "line"),
    [("templated_op_args_kept", "DS033", 10), ("sensor_kept", "DS030", 5)],
)
def test_constructs_not_converted_exactly_leave_the_file_as_it_was(
    case: str, code: str, line: int
) -> None:
    source, _ = _split(ROOT / f"fixtures/convert/unsupported/{case}.py")
    result = convert_source(source)
    assert (result.status, result.code) == ("unchanged", source)
    assert [(f.code, f.line) for f in result.findings] == [(code, line)]


def test_bash_env_values_are_rendered_like_airflow_templates(tmp_path: Path) -> None:
    source, _ = _split(ROOT / "fixtures/convert/operators/bash_env_templated.py")
    path = tmp_path / "flow.py"
    path.write_text(convert_source(source).code)
    (flow,) = load_path(str(path))
    assert flow.run(logical_date="2024-03-05").tasks["say"].result == "20240305"


def test_a_bash_script_template_file_is_not_converted() -> None:
    source, _ = _split(ROOT / "fixtures/convert/operators/bash_env_templated.py")
    source = source.replace('"echo $DAY"', '"scripts/run.sh "')
    assert [f.code for f in convert_source(source).findings] == ["DS036"]


def test_set_upstream_and_set_downstream_give_the_same_edges(tmp_path: Path) -> None:
    source, _ = _split(ROOT / "fixtures/convert/dependencies/set_upstream_downstream.py")
    path = tmp_path / "flow.py"
    path.write_text(convert_source(source).code)
    (flow,) = load_path(str(path))
    assert sorted(flow.graph.edges) == [("a", "b"), ("a", "c"), ("b", "c")]


def test_dag_assignment_with_dag_kwarg_runs_with_the_same_ids_and_results(tmp_path: Path) -> None:
    source, _ = _split(ROOT / "fixtures/convert/dag_definition/assigned_dag_with_dag_kwarg.py")
    path = tmp_path / "flow.py"
    path.write_text(convert_source(source).code)
    (flow,) = load_path(str(path))
    run = flow.run(logical_date="2024-01-15")
    assert sorted(flow.graph.edges) == [("hello", "echo")]
    assert (run.tasks["hello"].result, run.tasks["echo"].result) == ("hi", "2024-01-15")
