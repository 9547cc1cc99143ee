"""Verification catches what a broken conversion would change, and passes a faithful one."""

import json
from pathlib import Path

import pytest

from dagshift import Flow, task
from dagshift.cli import main
from dagshift.verify import compare_graphs

ETL = (Path(__file__).parents[2] / "fixtures" / "flows" / "etl.py").read_text()


def _pair(tmp_path, converted_text):
    (tmp_path / "original.py").write_text(ETL)
    (tmp_path / "converted.py").write_text(converted_text)
    return str(tmp_path / "original.py"), str(tmp_path / "converted.py")


def _verify(tmp_path, converted_text, capsys):
    original, converted = _pair(tmp_path, converted_text)
    code = main(["verify", original, converted, "--date", "2024-01-15", "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_a_faithful_copy_verifies(tmp_path, capsys):
    code, report = _verify(tmp_path, ETL, capsys)
    assert code == 0 and report["ok"] is True
    assert report["flows"] == [{"flow": "etl", "ok": True, "differences": [], "varying": []}]


def test_a_dropped_edge_is_caught(tmp_path, capsys):
    broken = ETL.replace(
        "load(transform(reference, live))",
        "load(transform(reference, [{'id': 0, 'currency': 'EUR', 'amount': 0.0}]))",
    )
    code, report = _verify(tmp_path, broken, capsys)
    kinds = {(d["kind"], d["task"]) for d in report["flows"][0]["differences"]}
    assert code == 1
    assert ("missing_edge", "transform") in kinds
    assert ("result", "transform") in kinds  # and the result changed with it


def test_a_changed_result_is_caught(tmp_path, capsys):
    broken = ETL.replace('"USD": 0.5', '"USD": 0.9')
    code, report = _verify(tmp_path, broken, capsys)
    diffs = report["flows"][0]["differences"]
    assert code == 1
    assert [d["task"] for d in diffs if d["kind"] == "result"] == [
        "extract_reference",
        "transform",
        "load",
    ]


def test_a_renamed_task_is_caught(tmp_path, capsys):
    broken = ETL.replace(
        "    load(transform(reference, live))",
        "    load.override(task_id='load_table')(transform(reference, live))",
    )
    code, report = _verify(tmp_path, broken, capsys)
    kinds = {(d["kind"], d["task"]) for d in report["flows"][0]["differences"]}
    assert code == 1
    assert {("missing_task", "load"), ("extra_task", "load_table")} <= kinds


def test_a_changed_state_is_caught(tmp_path, capsys):
    broken = ETL.replace(
        '    return {"EUR"', "    raise RuntimeError('lookup down')\n    return {\"EUR\""
    )
    code, report = _verify(tmp_path, broken, capsys)
    states = [d for d in report["flows"][0]["differences"] if d["kind"] == "state"]
    assert code == 1
    assert (states[0]["task"], states[0]["original"], states[0]["converted"]) == (
        "extract_reference",
        "success",
        "failed",
    )


def test_the_text_output_lists_differences_task_by_task(tmp_path, capsys):
    original, converted = _pair(tmp_path, ETL.replace('"GBP": 2.0', '"GBP": 3.0'))
    assert main(["verify", original, converted, "--date", "2024-01-15"]) == 1
    out = capsys.readouterr().out
    assert "✗ etl:" in out and "transform: the result differs" in out


def test_a_missing_flow_is_caught(tmp_path, capsys):
    code, report = _verify(tmp_path, ETL.replace('Flow("etl"', 'Flow("etl2"'), capsys)
    assert code == 1
    assert {d["kind"] for f in report["flows"] for d in f["differences"]} == {
        "missing_flow",
        "extra_flow",
    }


def test_an_xcom_pull_that_became_an_order_edge_is_caught():
    @task
    def a():
        return 1

    @task
    def b(x=None):
        return x

    with Flow("f") as original:
        b(a())
    with Flow("f") as ordered_only:
        b(upstream_tasks=[a()])
    assert compare_graphs(original, ordered_only, [("a", "b")])[0].kind == "missing_data_edge"
    assert compare_graphs(original, original, [("a", "b")]) == []


@pytest.mark.parametrize("which", ["original", "converted"])
def test_a_file_that_cannot_load_exits_2(tmp_path, capsys, which):
    original, converted = _pair(tmp_path, ETL)
    Path(original if which == "original" else converted).write_text("def (:\n")
    assert main(["verify", original, converted]) == 2
    assert "cannot load" in capsys.readouterr().err
