"""`dagshift run`: tables, JSON, parameters, exit statuses."""

import json
import subprocess
import sys
from pathlib import Path

from dagshift.cli import main

FLOWS = Path(__file__).parents[2] / "fixtures" / "flows"


def test_run_prints_a_table_with_every_task(capsys):
    assert main(["run", str(FLOWS / "etl.py"), "--date", "2024-01-15"]) == 0
    out = capsys.readouterr().out
    for name in ("extract_reference", "extract_live", "transform", "load", "success"):
        assert name in out


def test_run_json_has_the_documented_shape(capsys):
    assert (
        main(["run", str(FLOWS / "etl.py"), "--json", "--param", "limit=2", "--date", "2024-01-15"])
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert list(data) == ["etl"]
    assert data["etl"]["state"] == "success"
    assert data["etl"]["tasks"]["load"] == {
        "state": "success",
        "result": "loaded 2 rows, 11.00 EUR",
    }
    assert data["etl"]["tasks"]["extract_live"]["result"][0]["day"] == "2024-01-15"


def test_results_json_cannot_hold_are_shown_as_their_repr(tmp_path, capsys):
    (tmp_path / "obj.py").write_text(
        "from dagshift import Flow, task\n"
        "class Thing:\n    def __repr__(self):\n        return 'Thing()'\n"
        "@task\ndef make():\n    return {1: Thing()}\n"
        "with Flow('obj') as flow:\n    make()\n"
    )
    assert main(["run", str(tmp_path / "obj.py"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["obj"]["tasks"]["make"]["result"] == {"1": "Thing()"}


def test_a_failed_run_exits_1_and_shows_the_error(tmp_path, capsys):
    (tmp_path / "fails.py").write_text(
        "from dagshift import Flow, task\n"
        "@task\ndef bad():\n    raise KeyError('customer_id')\n"
        "with Flow('fails') as flow:\n    bad()\n"
    )
    assert main(["run", str(tmp_path / "fails.py")]) == 1
    assert "KeyError" in capsys.readouterr().out


def test_a_file_that_cannot_load_exits_2_naming_file_and_line(tmp_path, capsys):
    (tmp_path / "broken.py").write_text("x = (\n")
    assert main(["run", str(tmp_path / "broken.py")]) == 2
    assert f"{tmp_path / 'broken.py'}:1" in capsys.readouterr().err


def test_flow_selects_one_flow_and_an_unknown_name_exits_2(capsys):
    assert main(["run", str(FLOWS), "--flow", "flaky", "--json"]) == 0
    assert list(json.loads(capsys.readouterr().out)) == ["flaky"]
    assert main(["run", str(FLOWS), "--flow", "nope"]) == 2
    assert "no flow named nope" in capsys.readouterr().err


def test_a_file_without_flows_exits_2(tmp_path, capsys):
    (tmp_path / "plain.py").write_text("x = 1\n")
    assert main(["run", str(tmp_path / "plain.py")]) == 2
    assert "no flows or DAGs found" in capsys.readouterr().err


def test_the_module_runs_as_a_program():
    proc = subprocess.run(
        [sys.executable, "-m", "dagshift", "run", str(FLOWS / "flaky.py"), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["flaky"]["tasks"]["flaky"]["result"] == "succeeded on try 3"
