"""A TaskFlow argument naming a ``.sql`` file (``templates_exts``) is read and rendered.

Airflow's ``tutorial_taskflow_templates`` example passes
``sql="sql/tutorial_taskflow_template.sql"`` to a ``@task(templates_exts=[".sql"])``; real
Airflow 3.3 runs it to success only when the file is found beside the DAG
(tests/oracle/test_shim_parity.py copies it into Airflow's DAGs folder). Here: what the task
prints under the shim is what the example's comments say Airflow prints (the file rendered with
the run id and the task's overridden param).
"""

from tests.compat.conftest import ROOT, dagshift

_SITE = next((ROOT / ".venv" / "lib").glob("python3*/site-packages"))
EXAMPLE = _SITE / "airflow" / "example_dags" / "tutorial_taskflow_templates.py"


def test_the_sql_file_argument_is_rendered_with_the_run_and_the_overridden_param(tmp_path):
    code, out, err = dagshift(
        "run", str(EXAMPLE), "--date", "2024-01-15", "--db", str(tmp_path / "h.db"), cwd=tmp_path
    )
    assert code == 0, err
    run_id = "manual__2024-01-15T00:00:00+00:00"
    sql = out[out.index("sql: ") : out.index("test_var: ")]
    assert "select * from test_data\nwhere 1=1\n" in sql
    assert f"    and run_id = '{run_id}'\n    and something_else = 'param_from_task'" in sql
    assert f"test_var: {run_id}\n" in out
    assert f"rendered template: run_id: {run_id}; params.other_param: from_dag\n" in out
