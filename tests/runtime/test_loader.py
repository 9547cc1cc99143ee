"""Loading flows from files and folders."""

import textwrap

import pytest

from dagshift.runtime.loader import LoadError, load_file, load_path


def _write(path, text):
    path.write_text(textwrap.dedent(text))
    return path


FLOW = """
from dagshift import Flow, task

@task
def hello():
    return "hi"

with Flow("{name}") as flow:
    hello()
"""


def test_a_file_gives_its_flows_including_ones_built_inside_functions(tmp_path):
    path = _write(
        tmp_path / "two.py",
        FLOW.format(name="top") + """
def make():
    with Flow("made") as f:
        hello()
    return f

make()
""",
    )
    assert [f.name for f in load_file(path)] == ["top", "made"]


def test_a_syntax_error_names_the_file_and_line(tmp_path):
    path = _write(tmp_path / "broken.py", "x = 1\ndef oops(:\n")
    with pytest.raises(LoadError) as err:
        load_file(path)
    assert str(err.value).startswith(f"{path}:2: syntax error")


def test_an_exception_at_import_names_the_line_in_the_file(tmp_path):
    path = _write(tmp_path / "raises.py", "a = 1\nb = 2\nraise RuntimeError('no config')\n")
    with pytest.raises(LoadError, match=r"raises.py:3: RuntimeError: no config"):
        load_file(path)


def test_a_folder_loads_every_dag_file_and_reports_the_broken_ones(tmp_path):
    _write(tmp_path / "a.py", FLOW.format(name="a"))
    _write(tmp_path / "b.py", "from dagshift import Flow\ndef oops(:\n")
    _write(tmp_path / "notes.py", "def oops(:\n")  # names neither Airflow nor dagshift: skipped
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "sub" / "c.py", FLOW.format(name="c"))
    _write(tmp_path / "_private.py", FLOW.format(name="private"))  # Airflow parses it too
    (tmp_path / ".hidden").mkdir()
    _write(tmp_path / ".hidden" / "d.py", FLOW.format(name="d"))
    errors = []
    flows = load_path(tmp_path, errors)
    assert [f.name for f in flows] == ["private", "a", "c"]
    assert len(errors) == 1 and "b.py:2" in str(errors[0])


def test_a_file_can_import_its_neighbours(tmp_path):
    _write(tmp_path / "helpers.py", "VALUE = 41\n")
    path = _write(tmp_path / "uses.py", FLOW.format(name="uses") + "from helpers import VALUE\n")
    assert [f.name for f in load_file(path)] == ["uses"]


def test_a_loaded_flow_finds_templates_in_its_file_folder_then_its_searchpath(tmp_path):
    path = _write(
        tmp_path / "templated.py",
        """
        from dagshift import Flow

        with Flow("templated", template_searchpath="/srv/sql") as flow:
            pass
        """,
    )
    (flow,) = load_file(path)
    assert flow.fileloc == str(path)
    assert flow.template_folders() == [str(tmp_path), "/srv/sql"]
