"""Which files of a DAGs folder load: the same files real Airflow's DAG discovery parses.

A tree with nested ``.airflowignore`` files (regexp and glob syntax, negation, anchored and
directory-only patterns, comments) and files that do or do not mention Airflow and DAGs; real
Airflow 2.11 (regexp by default) and 3.3 (glob by default) list it with their own
``list_py_file_paths`` in a subprocess, and dagshift's discovery must give the same files.
"""

import json
import os
import subprocess

import pytest

from dagshift.runtime.discovery import dag_files
from tests.compat.conftest import dagshift
from tests.oracle.harness import airflow_python

pytestmark = pytest.mark.oracle

DAG = "from airflow import DAG\n"
TREE = {
    "a_dag.py": DAG,
    "no_mention.py": "x = 1\n",  # neither word: not a DAG file
    "only_airflow.py": "import airflow\n",
    "asset_only.py": "from airflow.sdk import Asset\n",  # Airflow 3 takes 'asset' for 'dag'
    "_private_dag.py": DAG,
    "notes.txt": DAG,
    "scratch_dag.py": DAG,
    "utils/__init__.py": "",
    "utils/helpers.py": "# shared DAG helpers\nfrom airflow.hooks.base import BaseHook\n",
    "utils/keep_dag.py": DAG,
    "team/x_dag.py": DAG,
    "team/old/legacy_dag.py": DAG,
    "team/tmp_dag.py": DAG,
    "team/deep/tmp_dag.py": DAG,
    "flows/converted.py": "from dagshift import Flow\n",
}
REGEXP = {
    ".airflowignore": "scratch_.*   # a comment\nutils/helpers\n\n# whole-line comment\n",
    "team/.airflowignore": "old\n[unclosed\n",  # an invalid regexp is skipped, as Airflow does
}
GLOB = {
    ".airflowignore": "scratch_*\nutils/*\n!utils/keep_dag.py\n# comment\n",
    "team/.airflowignore": "old/\n/tmp_dag.py\n",  # anchored: only team/tmp_dag.py
}


def _tree(root, ignores):
    for rel, text in {**TREE, **ignores}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _airflow_lists(generation, folder, syntax):
    code = (
        "import json, sys\nfrom airflow.utils.file import list_py_file_paths\n"
        "print(json.dumps(sorted(list_py_file_paths(sys.argv[1]))))"
    )
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(folder.parent / f"home{generation}"),
        "AIRFLOW__CORE__DAG_IGNORE_FILE_SYNTAX": syntax,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    out = subprocess.run(
        [str(airflow_python(generation)), "-c", code, str(folder)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {os.path.relpath(p, folder) for p in json.loads(out.splitlines()[-1])}


def _ours(folder, syntax, monkeypatch, generation):
    monkeypatch.setenv("AIRFLOW__CORE__DAG_IGNORE_FILE_SYNTAX", syntax)
    monkeypatch.setattr(
        "dagshift.runtime.discovery.installed_airflow_generation", lambda: generation
    )
    return {os.path.relpath(p, folder) for p in dag_files(folder)}


@pytest.mark.parametrize("generation", ["2", "3"])
@pytest.mark.parametrize("syntax, ignores", [("regexp", REGEXP), ("glob", GLOB)])
def test_the_files_loaded_are_the_files_airflow_parses(
    tmp_path, monkeypatch, generation, syntax, ignores
):
    folder = _tree(tmp_path / "dags", ignores)
    theirs = _airflow_lists(generation, folder, syntax) | {"flows/converted.py"}
    assert _ours(folder, syntax, monkeypatch, generation) == theirs
    assert "a_dag.py" in theirs and "scratch_dag.py" not in theirs  # the case is not empty


def test_the_default_syntax_is_the_installed_airflows(monkeypatch):
    from dagshift.runtime import discovery

    monkeypatch.delenv("AIRFLOW__CORE__DAG_IGNORE_FILE_SYNTAX", raising=False)
    monkeypatch.setattr(discovery, "installed_airflow_generation", lambda: "3")
    assert discovery.ignore_syntax() == "glob"
    monkeypatch.setattr(discovery, "installed_airflow_generation", lambda: "2")
    assert discovery.ignore_syntax() == "regexp"
    monkeypatch.setattr(discovery, "installed_airflow_generation", lambda: None)
    assert discovery.ignore_syntax() == "regexp"


def test_inspect_skips_what_the_airflowignore_excludes(tmp_path):
    folder = tmp_path / "dags"
    (folder / "utils").mkdir(parents=True)
    (folder / "utils" / "broken.py").write_text(
        'from airflow import DAG\nraise RuntimeError("not a DAG file")\n'
    )
    (folder / "daily.py").write_text(
        "import pendulum\nfrom airflow import DAG\nfrom airflow.operators.empty import "
        "EmptyOperator\nwith DAG('daily', start_date=pendulum.datetime(2024, 1, 1), "
        "schedule=None):\n    EmptyOperator(task_id='t')\n"
    )
    env = {"AIRFLOW__CORE__DAG_IGNORE_FILE_SYNTAX": "glob"}
    code, _, err = dagshift("inspect", str(folder), env=env)
    assert code == 2 and "broken.py" in err  # without an .airflowignore the helper is loaded
    (folder / ".airflowignore").write_text("utils/\n")
    code, out, err = dagshift("inspect", str(folder), "--json", env=env)
    assert code == 0, err
    assert list(json.loads(out)) == ["daily"]
