"""``dagshift migrate`` as a user runs it: trees, reports, exit codes, safety."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import pytest

from dagshift.converter.cli import main

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "fixtures" / "convert"


def _input(name: str) -> str:
    return (CASES / f"{name}.py").read_text().split("\n# output\n", 1)[0] + "\n"


def test_cli_writes_a_mirror_tree_reports_failures_and_leaves_input_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "dags"
    (src / "sub").mkdir(parents=True)
    legacy = _input("empty_operator/legacy_dummy")
    (src / "sub" / "legacy.py").write_text(legacy)
    (src / "kept.py").write_text(_input("xcom/pull_with_computed_id_kept"))
    (src / "broken.py").write_text("x = (\n")
    (src / "plain.py").write_text("print(1)\n")
    report = tmp_path / "report.json"
    code = main([str(src), "--out", str(tmp_path / "out"), "--report", str(report)])
    assert code == 2
    assert (src / "sub" / "legacy.py").read_text() == legacy
    assert "Flow(" in (tmp_path / "out" / "sub" / "legacy.py").read_text()
    assert "# dagshift: TODO(DS072)" in (tmp_path / "out" / "kept.py").read_text()
    assert not (tmp_path / "out" / "plain.py").exists()
    data = json.loads(report.read_text())
    assert data["summary"] == {
        "converted": 1,
        "partial": 1,
        "unchanged": 0,
        "not_a_dag": 1,
        "failed": 1,
        "bridged": 0,
    }
    by_path = {Path(f["path"]).name: f for f in data["files"]}
    assert by_path["broken.py"]["findings"][0]["code"] == "DS901"
    assert by_path["kept.py"]["findings"] == [
        {
            "code": "DS072",
            "line": 7,
            "message": "xcom_pull task_ids is not a string literal or a list of them",
        }
    ]
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == "1 converted, 1 partial, 0 unchanged, 1 not a dag, 1 failed"
    assert main([str(tmp_path / "out"), "--check"]) == 0
    assert main([str(src / "sub"), "--check", "--jobs", "2"]) == 1


def test_diff_prints_a_unified_diff_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "dag.py").write_text(_input("empty_operator/legacy_dummy"))
    assert main([str(tmp_path), "--diff", "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert '+with Flow("legacy", schedule=None) as dag:' in out
    assert not (tmp_path / "out").exists()


def test_in_place_rewrites_the_input(tmp_path: Path) -> None:
    dag = tmp_path / "dag.py"
    dag.write_text(_input("empty_operator/legacy_dummy"))
    assert main([str(tmp_path), "--in-place"]) == 0
    assert "from dagshift import Flow, task" in dag.read_text()


def test_symlinks_that_leave_the_input_root_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret_dag.py").write_text(_input("empty_operator/legacy_dummy"))
    root = tmp_path / "dags"
    root.mkdir()
    (root / "linked_dir").symlink_to(outside, target_is_directory=True)
    (root / "linked_file.py").symlink_to(outside / "secret_dag.py")
    (root / "own.py").write_text(_input("empty_operator/legacy_dummy"))
    report = tmp_path / "r.json"
    assert main([str(root), "--out", str(tmp_path / "out"), "--report", str(report)]) == 0
    paths = [Path(f["path"]).name for f in json.loads(report.read_text())["files"]]
    assert paths == ["own.py"]


def test_exclude_globs_skip_files_and_folders(tmp_path: Path) -> None:
    root = tmp_path / "dags"
    (root / "tests").mkdir(parents=True)
    for rel in ("a.py", "skip_me.py", "tests/test_a.py"):
        (root / rel).write_text(_input("empty_operator/legacy_dummy"))
    report = tmp_path / "r.json"
    argv = [str(root), "--check", "--report", str(report), "--exclude", "skip_*.py"]
    assert main([*argv, "--exclude", "tests/*"]) == 1
    paths = [Path(f["path"]).name for f in json.loads(report.read_text())["files"]]
    assert paths == ["a.py"]


def test_migrating_a_tree_never_imports_its_files(tmp_path: Path) -> None:
    marker = tmp_path / "imported"
    dag = tmp_path / "dags" / "evil.py"
    dag.parent.mkdir()
    dag.write_text(
        f"open({str(marker)!r}, 'w').close()\n"
        "from airflow import DAG\nfrom airflow.operators.empty import EmptyOperator\n"
        "with DAG('evil') as dag:\n    EmptyOperator(task_id='x')\n"
    )
    assert main([str(dag.parent), "--out", str(tmp_path / "out"), "--jobs", "2"]) == 0
    assert not marker.exists()
    assert "_dagshift_empty" in (tmp_path / "out" / "evil.py").read_text()


def test_a_markdown_report_lists_every_file_with_its_findings(tmp_path: Path) -> None:
    (tmp_path / "kept.py").write_text(_input("xcom/pull_with_computed_id_kept"))
    report = tmp_path / "r.md"
    main([str(tmp_path / "kept.py"), "--check", "--report", str(report)])
    text = report.read_text()
    assert "| partial | 1 |" in text
    assert "line 7: `DS072` xcom_pull task_ids is not a string literal or a list of them" in text


def test_output_is_written_atomically_without_temporary_files_left(tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "d.py").write_text(_input("empty_operator/legacy_dummy"))
    main([str(tmp_path / "dags"), "--out", str(tmp_path / "out")])
    assert sorted(os.listdir(tmp_path / "out")) == ["d.py"]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_progress_bar_and_then_the_one_line_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(3):
        (tmp_path / f"d{i}.py").write_text(_input("empty_operator/legacy_dummy"))
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main([str(tmp_path), "--check"]) == 1
    text = terminal.getvalue()
    assert "migrating" in text
    assert (
        text.rstrip()
        .splitlines()[-1]
        .endswith("3 converted, 0 partial, 0 unchanged, 0 not a dag, 0 failed")
    )


def test_no_progress_bar_when_stderr_is_not_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for i in range(3):
        (tmp_path / f"d{i}.py").write_text(_input("empty_operator/legacy_dummy"))
    main([str(tmp_path), "--check"])
    assert capsys.readouterr().err == "3 converted, 0 partial, 0 unchanged, 0 not a dag, 0 failed\n"


def test_list_rules_names_every_rule_with_its_description(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--list-rules"]) == 0
    out = capsys.readouterr().out.splitlines()
    from dagshift.converter.rules import RULES

    assert any(line.startswith("xcom ") and "xcom_pull" in line for line in out)
    assert any(line.startswith("bridged ") and "kept as written" in line for line in out)
    assert len(out) == len(RULES) >= 12


def test_jobs_give_the_same_report_and_files_as_one_process(tmp_path: Path) -> None:
    src = tmp_path / "dags"
    src.mkdir()
    for i, case in enumerate(
        [
            "empty_operator/legacy_dummy",
            "xcom/pull_with_computed_id_kept",
            "xcom/pull_and_push_styles",
        ]
    ):
        (src / f"d{i}.py").write_text(_input(case))
    reports = []
    for jobs in ("1", "2"):
        out, report = tmp_path / f"out{jobs}", tmp_path / f"r{jobs}.json"
        main([str(src), "--out", str(out), "--jobs", jobs, "--report", str(report)])
        files = {p.name: p.read_text() for p in sorted(out.iterdir())}
        reports.append((json.loads(report.read_text()), files))
    assert reports[0] == reports[1]


def test_a_file_that_is_not_utf8_fails_alone_and_the_others_go_on(tmp_path: Path) -> None:
    (tmp_path / "latin1.py").write_bytes("# caf\xe9\n".encode("latin-1"))
    (tmp_path / "ok.py").write_text(_input("empty_operator/legacy_dummy"))
    report = tmp_path / "r.json"
    assert main([str(tmp_path), "--check", "--report", str(report)]) == 2
    by_name = {Path(f["path"]).name: f for f in json.loads(report.read_text())["files"]}
    assert by_name["latin1.py"]["status"] == "failed"
    assert by_name["latin1.py"]["findings"][0]["code"] == "DS900"
    assert by_name["ok.py"]["status"] == "converted"


def test_a_chain_of_a_thousand_tasks_in_one_expression_converts(tmp_path: Path) -> None:
    """Each `>>` nests the tree one level: past Python's default recursion depth here."""
    n = 1100
    lines = [
        "from airflow import DAG",
        "from airflow.operators.empty import EmptyOperator",
        "",
        'with DAG("long_chain", schedule=None) as dag:',
        *(f'    t{i} = EmptyOperator(task_id="t{i}")' for i in range(n)),
        "    " + " >> ".join(f"t{i}" for i in range(n)),
    ]
    (tmp_path / "long.py").write_text("\n".join(lines) + "\n")
    report = tmp_path / "r.json"
    assert main([str(tmp_path / "long.py"), "--check", "--report", str(report)]) == 1
    [entry] = json.loads(report.read_text())["files"]
    assert entry["status"] == "converted", entry["findings"]


def test_a_converter_failure_on_one_file_fails_that_file_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug met on one file (injected here: no real one is known) is that file's DS904;
    the others convert, in parallel processes too."""
    import dagshift.converter.convert as convert

    real = convert.convert_source

    def failing(source: str, syntax=None):
        if "boom_dag" in source:
            raise RuntimeError("an internal error")
        return real(source, syntax)

    monkeypatch.setattr(convert, "convert_source", failing)
    for i in range(8):
        (tmp_path / f"ok{i}.py").write_text(_input("empty_operator/legacy_dummy"))
    (tmp_path / "boom.py").write_text(
        _input("empty_operator/legacy_dummy").replace('"', '"boom_dag', 1)
    )
    report = tmp_path / "r.json"
    assert main([str(tmp_path), "--check", "--jobs", "2", "--report", str(report)]) == 2
    by_name = {Path(f["path"]).name: f for f in json.loads(report.read_text())["files"]}
    assert by_name["boom.py"]["status"] == "failed"
    [finding] = by_name["boom.py"]["findings"]
    assert finding["code"] == "DS904" and "RuntimeError: an internal error" in finding["message"]
    assert all(by_name[f"ok{i}.py"]["status"] == "converted" for i in range(8))


def test_a_file_for_a_newer_python_is_reported_as_such(tmp_path: Path) -> None:
    """A DAG file using syntax this Python lacks (3.12's ``type`` statement and generics) is
    the file's Python, not the converter's output: DS905 on its line, left as it is, and the
    other files go on."""
    if sys.version_info >= (3, 12):
        pytest.skip("this Python parses 3.12 syntax")
    (tmp_path / "ok.py").write_text(_input("empty_operator/legacy_dummy"))
    newer = _input("empty_operator/legacy_dummy") + "\ntype Rows = list[dict]\n"
    (tmp_path / "newer.py").write_text(newer)
    report = tmp_path / "r.json"
    out = tmp_path / "out"
    assert main([str(tmp_path), "--out", str(out), "--report", str(report)]) == 2
    by_name = {Path(f["path"]).name: f for f in json.loads(report.read_text())["files"]}
    [finding] = by_name["newer.py"]["findings"]
    assert finding["code"] == "DS905"
    assert finding["line"] == newer.count("\n")
    assert "newer Python than 3.11" in finding["message"]
    assert by_name["ok.py"]["status"] == "converted"
    assert (tmp_path / "newer.py").read_text() == newer
