"""``dagshift pools``: list, get, set, delete, import and export the pools file."""

from __future__ import annotations

import json

import pytest

from dagshift.cli import main
from dagshift.runtime import pools


@pytest.fixture(autouse=True)
def pools_file(tmp_path, monkeypatch):
    path = tmp_path / "pools.json"
    monkeypatch.setenv(pools.ENV_POOLS, str(path))
    monkeypatch.delenv(pools.ENV_SLOTS, raising=False)
    return path


def test_set_then_list_shows_the_pool_beside_default_pool(capsys):
    assert main(["pools", "set", "etl", "3", "nightly loads"]) == 0
    assert main(["pools", "set", "api", "-1"]) == 0
    capsys.readouterr()
    assert main(["pools", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["default_pool", "128", "Default", "pool"]
    assert lines[2].split() == ["api", "unlimited"]
    assert lines[3].split() == ["etl", "3", "nightly", "loads"]
    assert main(["pools", "get", "etl", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "etl": {"slots": 3, "description": "nightly loads"}
    }


def test_a_task_started_after_set_sees_the_new_size(capsys):
    assert main(["pools", "set", "etl", "2"]) == 0
    assert pools.pools()["etl"]["slots"] == 2
    assert main(["pools", "set", "etl", "5"]) == 0
    assert pools.pools()["etl"]["slots"] == 5


def test_delete_removes_a_pool_and_refuses_default_pool(capsys):
    main(["pools", "set", "etl", "3"])
    assert main(["pools", "delete", "etl"]) == 0
    assert "etl" not in pools.pools()
    assert main(["pools", "delete", "etl"]) == 1
    assert main(["pools", "delete", "default_pool"]) == 1
    err = capsys.readouterr().err
    assert "no pool 'etl'" in err and "default_pool cannot be deleted" in err


def test_export_writes_what_import_reads_back(tmp_path, pools_file, capsys):
    main(["pools", "set", "etl", "3", "nightly"])
    out = tmp_path / "exported.json"
    assert main(["pools", "export", str(out)]) == 0
    exported = json.loads(out.read_text())
    assert exported["etl"] == {"slots": 3, "description": "nightly", "include_deferred": False}
    pools_file.unlink()
    assert main(["pools", "import", str(out)]) == 0
    assert pools.pools()["etl"]["slots"] == 3


def test_import_of_a_bad_file_names_it_and_writes_nothing(tmp_path, pools_file, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"good": {"slots": 2}, "broken": {"slots": "x"}}))
    assert main(["pools", "import", str(bad)]) == 1
    assert f"{bad}: pool 'broken': slots must be a whole number" in capsys.readouterr().err
    assert not pools_file.exists()


def test_a_broken_pools_file_is_reported_not_a_traceback(pools_file, capsys):
    pools_file.write_text("{oops")
    assert main(["pools", "list"]) == 1
    err = capsys.readouterr().err
    assert str(pools_file) in err and "fix or delete the file" in err


def test_set_with_slots_below_minus_one_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["pools", "set", "etl", "-3"])
    assert info.value.code == 2
    assert "give a whole number >= 0, or -1" in capsys.readouterr().err
