"""Every DAG file in fixtures/dags runs in real Airflow and does what its docstring says.

A file's oracle is the Airflow generation it is written for: 1.10- and 2.x-style files
(``legacy_110_*``, ``af2_*``) run on Airflow 2.11 (Airflow 3 cannot import most of them), 3.x-style
files (``af3_*``) on Airflow 3.3. The 2.x-style files that Airflow 3 still imports run on both,
and both must agree except for the differences pinned in ``ALSO_IN_AIRFLOW_3``. Every run is at
logical date 2024-01-15 (a Monday, the 15th) with the Variables of ``ENV``; all runs of one
generation share one Airflow process (see harness.py), and results are cached on disk.

``EXPECTED`` holds a few key expectations per file: the run state of each DAG, and for some tasks
the state or ``(state, result)``; ``PARAM_RUNS`` a few more runs with params (the run's conf).
test_shim_parity.py compares dagshift with these same runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.oracle.harness import ROOT, OracleError, airflow_run_many
from tests.oracle.rules_fixtures import RULES_EXPECTED

pytestmark = pytest.mark.oracle

FIXTURE_DAGS = ROOT / "fixtures" / "dags"
FIXTURES = sorted(FIXTURE_DAGS.glob("*.py"))
LOGICAL_DATE = "2024-01-15"

# Variables for every run, from the environment as Airflow reads them; one file runs without
# them so that its Variable defaults are checked too, one with its template folder.
ENV = {"AIRFLOW_VAR_DAGSHIFT_GREETING": "hi", "AIRFLOW_VAR_DAGSHIFT_LIMITS": '{"rows": 5}'}
ENV_FOR = {
    "legacy_110_custom_operator": {},
    "af2_template_files": {**ENV, "DAGSHIFT_FIXTURE_TEMPLATES": str(FIXTURE_DAGS / "templates")},
}

STYLES = {"legacy_110_": ("1.10", "2"), "af2_": ("2", "2"), "af3_": ("3", "3")}

S, F, K, U = "success", "failed", "skipped", "upstream_failed"

# file stem -> {dag_id: (run state, {task_id: state | (state, result)})}, at 2024-01-15.
EXPECTED: dict[str, dict[str, tuple[str, dict]]] = {
    "legacy_110_bash_templates": {
        "legacy_110_bash_templates": (
            S,
            {
                "count": (S, 42),
                "relative_days": (S, ["00:00:00", 2]),
                "echo_day": (S, "2024-01-15 20240115 orders"),
                "use_xcom": (S, "rows=42 pulled=42"),
                "last_line": (S, "2024-01-16"),
            },
        )
    },
    "legacy_110_branching": {
        "legacy_110_branching": (
            S,
            {
                "branch": (S, "weekday"),
                "weekday": (S, "took weekday"),
                "weekend": K,
                "after_weekend": K,
                "join": S,
                "join_strict": K,
            },
        )
    },
    "legacy_110_context_templates": {
        "legacy_110_context_templates": (
            S,
            {
                "report": (
                    S,
                    {
                        "conf": {},
                        "ds": "2024-01-15",
                        "ds_nodash": "20240115",
                        "execution_date": "2024-01-15T00:00:00+00:00",
                        "next_ds": "2024-01-15",
                        "templated": {"who": "ops", "yesterday": "2024-01-14"},
                        "ts": "2024-01-15T00:00:00+00:00",
                        "ts_nodash": "20240115T000000",
                        "who": "ops",
                    },
                ),
                "bash": (S, "20240115 20240115T000000 2024"),
            },
        )
    },
    "legacy_110_custom_operator": {
        "legacy_110_custom_operator": (
            S,
            {"greet": (S, "hello, world! (2024-01-15)"), "variable": (S, "hello")},
        )
    },
    "legacy_110_date_macros": {
        # Airflow 2.11 derives them from the data interval [2024-01-14, 2024-01-15] of a
        # manual @daily run, not from 1.10's schedule arithmetic
        "legacy_110_date_macros": (
            S,
            {
                "relatives": (
                    S,
                    {
                        "next_ds": "2024-01-15",
                        "next_execution_date": "2024-01-15T00:00:00+00:00",
                        "prev_ds": "2024-01-14",
                        "prev_ds_nodash": "20240114",
                        "prev_execution_date": "2024-01-14T00:00:00+00:00",
                        "tomorrow_ds": "2024-01-16",
                        "yesterday_ds": "2024-01-14",
                    },
                ),
                "templated": (
                    S,
                    "2024-01-14 2024-01-15 2024-01-14 2024-01-16 20240115"
                    " 2024-01-14T00:00:00+00:00",
                ),
            },
        )
    },
    "legacy_110_multi_dag": {
        f"legacy_110_multi_dag_{name}": (S, {"stamp": (S, f"{name}@2024-01-15")})
        for name in ("hourly", "weekly", "manual")
    },
    "legacy_110_python_xcom": {
        "legacy_110_python_xcom": (
            S,
            {
                "start": (S, None),
                "extract": (S, {"day": "2024-01-15", "rows": [1, 2, 3]}),
                "transform": (S, [10, 20, 30]),
                "load": (
                    S,
                    {
                        "count": 3,
                        "ds": "2024-01-15",
                        "execution_date": "2024-01-15T00:00:00+00:00",
                        # Airflow 2.11 leaves ids without a value out of a list pull
                        "listed": ["2024-01-15"],
                        "total": 60,
                    },
                ),
            },
        )
    },
    "legacy_110_retries_and_exceptions": {
        "legacy_110_retries_and_exceptions": (
            F,
            {
                "flaky": (S, "succeeded on try 2"),
                "nothing_to_do": K,
                "after_skip": K,
                "bad_config": F,
                "after_bad": U,
                "alert": S,
                "cleanup": S,
            },
        )
    },
    "legacy_110_sensor_loops": {
        "legacy_110_sensor_loops": (
            S,
            {"ready": S, "part_0": (S, 0), "part_1": (S, 1), "part_2": (S, 4), "finish": S},
        )
    },
    # a task's params lie over the DAG's, in its templates and in its callable
    "legacy_110_tutorial": {
        "legacy_110_tutorial": (
            S,
            {
                "greet": (S, "hello dag"),
                "templated": (S, "2024-01-15 2024-01-22 task@eu"),
                "describe": (S, "2024-01-15 dag us 1"),
            },
        )
    },
    "legacy_110_short_circuit": {
        "legacy_110_short_circuit": (
            S,
            {
                "first_half": (S, True),
                "mid_month": (S, "mid-month report"),
                "month_end": (S, False),
                "closing": K,
                "archive": K,
            },
        )
    },
    # operators no rule converts stay as written in the converted flow (bridged)
    "af2_bridged_operators": {
        "af2_bridged_operators": (
            S,
            {
                "count": (S, 3),
                "wait": S,
                "describe": (S, "hello: 2024-01-15 n=3 retries=2 owner=data"),
                "report": (S, ["hello: 2024-01-15 n=3 retries=2 owner=data", "none"]),
            },
        )
    },
    "af3_bridged_operators": {
        "af3_bridged_operators": (
            S,
            {
                "produce": (S, 42),
                "wait": S,
                "pause": S,
                "stamp": (S, "42 rows on 2024-01-15 try 1"),
                # a pull from a task that does not exist: None in Airflow 3
                "summarize": (S, {"stamp": "42 rows on 2024-01-15 try 1", "missing": None}),
            },
        )
    },
    "af2_branching": {
        "af2_branching": (
            S,
            {
                "size": (S, "small"),
                "big": K,
                "small": S,
                "join": S,
                "join_default": K,
                "by_day": (S, ["mid_month", "audit"]),
                "mid_month": (S, "mid"),
                "audit": (S, "audited"),
                "other_day": K,
            },
        )
    },
    "af2_classic_with_dag": {
        "af2_classic_with_dag": (
            S,
            {
                "total": (S, 50),
                "templated": (S, {"day": "2024-01-15", "next": "2024-01-16"}),
                "shout": (S, "total=50 on 20240115"),
            },
        )
    },
    "af2_context": {
        "af2_context": (
            S,
            {
                "dates": (
                    S,
                    {
                        "ds": "2024-01-15",
                        "ds_nodash": "20240115",
                        "ts": "2024-01-15T00:00:00+00:00",
                        "ts_nodash": "20240115T000000",
                        "execution_date": "2024-01-15T00:00:00+00:00",
                        "logical_date": "2024-01-15T00:00:00+00:00",
                        "data_interval_start": "2024-01-14T00:00:00+00:00",
                        "data_interval_end": "2024-01-15T00:00:00+00:00",
                        "tomorrow": "2024-01-16",
                    },
                ),
                "run_settings": (S, {"conf": {}, "region": "eu"}),
                "relative_days": (S, ["00:00:00", 2]),
            },
        )
    },
    "af2_corners": {
        "af2_corners": (
            S,
            {
                "silent": (S, None),
                "pull": (S, [None, [1]]),
                "env_only": (S, "1:none"),
                "env_appended": (S, "2:hi"),
                "exit_99": K,
                "skip_two": (S, [10, None, 30]),
                "gather": (S, [10, 30]),
                "inside_flat_group": S,
                "twice": (S, 1),
                "twice__1": (S, 2),
            },
        ),
        "af2_corners_native": (
            F,
            {"native": (S, [[1, 2], "15/01/2024"]), "native_env": F},
        ),
    },
    # a @dag parameter in a templated field, resolved and not rendered; a bash_command from an
    # XCom key of a multiple_outputs task: run as it is, not rendered
    "af3_dag_decorator_bash": {
        "af3_dag_decorator_bash": (
            S,
            {
                "get_ip": (S, {"origin": "192.0.2.7", "url": "https://example.invalid/{{ ds }}"}),
                "echo_ip_info": (S, "from 192.0.2.7 {{ ds }}"),
            },
        )
    },
    # a @dag parameter in a custom operator's templated field: the run's conf, else the default
    "af2_dag_decorator_params": {
        "af2_dag_decorator_params": (
            S,
            {
                "prepare_email": (
                    S,
                    {
                        "subject": "Server connected from 192.0.2.7",
                        "body": "http://example.invalid/get",
                    },
                ),
                "send_email": (S, "example@example.com: Server connected from 192.0.2.7"),
            },
        )
    },
    "af2_custom_operator_variable": {
        "af2_custom_operator_variable": (
            S,
            {
                "render": (
                    S,
                    {
                        "message": "hi on 2024-01-15",
                        "options": {"day": "15", "fixed": 1},
                        "paths": ["raw/20240115.csv", "static.csv"],
                    },
                ),
                "greeting": (S, "hi"),
            },
        )
    },
    # converter/rules/kept_names.py: conf, ds_add, AirflowException, ObjectStoragePath kept as
    # written; days_ago with hour= and minute= rewritten
    "af2_kept_names": {
        "af2_kept_names": (
            F,
            {
                "settings": (S, ["utc", 16]),
                "span": (S, 108900.0),
                "shifted": (S, "2024-01-18"),
                "refuse": F,
            },
        )
    },
    "af3_kept_names": {
        "af3_kept_names": (S, {"write": (S, "n.txt"), "read": (S, 42), "setting": (S, "utc")})
    },
    "af2_dependencies": {
        "af2_dependencies": (
            S,
            {
                "step_2": (S, "step_2"),
                "x1": (S, ["x1", ["left", "right"]]),
                "y2": (S, ["y2", [["x2", ["left", "right"]]]]),
                "end": (
                    S,
                    [
                        "end",
                        [["y1", [["x1", ["left", "right"]]]], ["y2", [["x2", ["left", "right"]]]]],
                    ],
                ),
            },
        )
    },
    "af2_mapping": {
        "af2_mapping": (
            S,
            {
                "size": (S, ["a.csv:5B", "b.csv:5B", "c.csv:5B"]),
                "add": (S, [3, 30]),
                "total": (S, 33),
                "cross": (S, [101, 201, 102, 202]),
                "powers": (S, [8, 9]),
                "nothing": (S, []),
                "never": (K, None),
            },
        )
    },
    "af2_multi_dag_schedules": {
        "af2_multi_daily": (
            S,
            {"interval": (S, ["2024-01-14T00:00:00+00:00", "2024-01-15T00:00:00+00:00"])},
        ),
        "af2_multi_every_6h": (
            S,
            {"interval": (S, ["2024-01-14T18:00:00+00:00", "2024-01-15T00:00:00+00:00"])},
        ),
        # a manual run at midnight gets the last whole cron interval before it
        "af2_multi_cron": (
            S,
            {"interval": (S, ["2024-01-13T02:15:00+00:00", "2024-01-14T02:15:00+00:00"])},
        ),
        "af2_multi_manual": (
            S,
            {"interval": (S, ["2024-01-15T00:00:00+00:00", "2024-01-15T00:00:00+00:00"])},
        ),
    },
    "af2_retries_exceptions": {
        "af2_retries_exceptions": (
            S,
            {
                "flaky": (S, 3),
                "after_flaky": (S, 3),
                "out_of_retries": F,
                "skip_me": K,
                "after_skip": K,
                "give_up": F,
                "report": (S, "report"),
            },
        )
    },
    "af2_sensor": {"af2_sensor": (S, {"wait": (S, None), "after": (S, "sensed")})},
    "af2_short_circuit": {
        "af2_short_circuit": (
            S,
            {
                "stop_all": (S, False),
                "a1": K,
                "a2": K,
                "stop_direct": (S, []),
                "b1": K,
                "b2": S,
                "b3": K,
                "has_rows": (S, [1]),
                "load": (S, "loaded"),
            },
        )
    },
    "af2_task_groups": {
        "af2_task_groups": (
            S,
            {
                "prepare.check": S,
                "pipeline.inc": (S, 3),
                "pipeline__1.inc": (S, 21),
                "collect": (S, [3, 21]),
                "pick_group": (S, "publish"),
                "publish.upload": S,
                "publish.notify": S,
                "archive": K,
            },
        )
    },
    "af2_taskflow_etl": {
        "af2_taskflow_etl": (
            S,
            {
                "summarize": (S, {"count": 3, "total": 6}),
                "scale_total": (S, 12),
                "scale": (S, 6),
                "label": (S, "rows: 12/3"),
            },
        )
    },
    "af2_taskflow_corners": {
        "af2_taskflow_corners": (
            S,
            {
                "stats": (S, {"cols": 2, "rows": 3}),
                "area": (S, 6),
                "templated": (S, ["2024-01-15", "plain x"]),
                "shell": (S, "w-20240115"),
                "recall": (S, "seen 2024-01-15"),
                "recall_template": (S, "seen 2024-01-15"),
                "x": S,
                "y": S,
            },
        )
    },
    "af2_template_files": {
        "af2_template_files": (
            S,
            {
                "script": (S, "ops on 2024-01-15 until 2024-01-21"),
                "query": (S, "SELECT count(*) FROM orders WHERE day = '2024-01-15'"),
                "not_a_file": (S, "greet.sh"),
            },
        )
    },
    "af2_trigger_rules": {
        "af2_trigger_rules": (
            F,
            {
                "bad": F,
                "skipped": K,
                "after_all_success": U,
                "after_all_failed": K,
                "after_all_done": S,
                "after_all_skipped": K,
                "after_one_success": S,
                "after_one_failed": S,
                "after_one_done": S,
                "after_none_failed": U,
                "after_none_failed_min_one_success": U,
                "after_none_skipped": K,
                "after_always": S,
                "ok_skipped_all_success": K,
                "ok_skipped_none_failed": S,
            },
        )
    },
    "af2_xcom_styles": {
        "af2_xcom_styles": (
            S,
            {
                "with_ti": (S, 2),
                "with_context": (S, [{"a": 1}, "b"]),
                "with_kwargs": (S, "pushed by b"),
                "with_task_instance": (S, ["fallback", ["b"]]),
                "with_key_pull": (S, ["b", "pushed by b"]),
            },
        )
    },
    "af3_branching": {
        "af3_branching": (
            S,
            {
                "size": (S, None),
                "big": K,
                "small": S,
                "join": S,
                "join_default": K,
                "route": (S, None),
                "first_half.load": (S, "first"),
                "first_half.report": (S, "first"),
                "second_half": K,
                "done": S,
            },
        )
    },
    "af3_callbacks": {
        "af3_callbacks": (
            S,
            {
                "broken": F,
                "second_try": (S, "second"),
                "collect": (
                    S,
                    ["failure broken", "retry second_try", "success fine", "success second_try"],
                ),
            },
        )
    },
    "af3_classic_operators": {
        "af3_classic_operators": (
            S,
            {
                "total": (S, 50),
                "templated": (S, {"day": "2024-01-15", "next": "2024-01-16"}),
                "shout": (S, "total=50 on 20240115"),
                "number": (S, "42"),
            },
        )
    },
    "af3_context": {
        "af3_context": (
            S,
            {
                "dates": (
                    S,
                    {
                        "ds": "2024-01-15",
                        "ds_nodash": "20240115",
                        "ts": "2024-01-15T00:00:00+00:00",
                        "ts_nodash": "20240115T000000",
                        "logical_date": "2024-01-15T00:00:00+00:00",
                        "data_interval_start": "2024-01-15T00:00:00+00:00",
                        "data_interval_end": "2024-01-15T00:00:00+00:00",
                        "week_ago": "2024-01-08",
                    },
                ),
                "run_settings": (S, {"conf": {}, "params": {"limit": 3, "region": "eu"}}),
                "templated": (S, "2024-01-15 20240115T000000 eu 2024-01-15 Monday"),
            },
        )
    },
    "af3_corners_mapping": {
        "af3_corners_mapping": (
            F,
            {
                "skip_two": (S, [10, None, 30]),
                "gather_skipped": (S, [10, 30]),
                "fail_two": (F, [10, None, 30]),
                "gather_failed": (S, [10, 30]),
                "child": U,
                "pair": (S, [["a", 1], ["b", 2]]),
                "pull_mapped": (S, [10, 30]),
            },
        )
    },
    "af3_corners_operators": {
        "af3_corners_operators": (
            F,
            {
                "silent": (S, None),
                "pull_silent": (S, None),
                "env_only": (S, "1:none"),
                "env_appended": (S, "2:hi"),
                "exit_99": K,
                "exit_3": F,
                "too_slow": F,
                "bad_branch": (S, None),
                "downstream": K,
                "not_downstream": S,
                "inside_flat_group": S,
                "twice": (S, 1),
                "twice__1": (S, 2),
            },
        )
    },
    "af3_custom_operator_variable": {
        "af3_custom_operator_variable": (
            S,
            {
                "render": (
                    S,
                    {
                        "message": "hi on 2024-01-15",
                        "options": {"day": "15", "fixed": 1},
                        "paths": ["raw/20240115.csv", "static.csv"],
                    },
                ),
                "variables": (S, {"greeting": "hi", "limits": {"rows": 5}}),
            },
        )
    },
    "af3_dependencies": {
        "af3_dependencies": (
            S,
            {
                "b0": (S, ["b0", [["a0", [None]]]]),
                "b1": (S, ["b1", [["a1", [None]]]]),
                "c2": (S, ["c2", [["b0", [["a0", [None]]]], ["b1", [["a1", [None]]]]]]),
                "d": (S, ["d", [["c1", [["b0", [["a0", [None]]]], ["b1", [["a1", [None]]]]]]]]),
            },
        )
    },
    "af3_mapping": {
        "af3_mapping": (
            S,
            {
                "size": (S, ["a.csv:5B", "b.csv:5B", "c.csv:5B"]),
                "add": (S, [3, 30]),
                "total": (S, 33),
                "cross": (S, [101, 201, 102, 202]),
                "powers": (S, [8, 9]),
                "echo": (S, ["one", "two"]),
                "nothing": (S, []),
                "never": (K, None),
            },
        )
    },
    "af3_multi_dag": {
        "af3_multi_cron": (S, {"interval": (S, ["2024-01-15T00:00:00+00:00"] * 2)}),
        "af3_multi_every_6h": (S, {"interval": (S, ["2024-01-15T00:00:00+00:00"] * 2)}),
        "af3_multi_daily": (
            S,
            {
                "interval": (S, ["2024-01-15T00:00:00+00:00"] * 2),
                "name": (S, "af3_multi_daily"),
            },
        ),
        "af3_multi_manual": (S, {"name": (S, "af3_multi_manual")}),
    },
    "af3_retries_exceptions": {
        "af3_retries_exceptions": (
            S,
            {
                "flaky": (S, 3),
                "after_flaky": (S, 3),
                "out_of_retries": F,
                "skip_me": K,
                "after_skip": K,
                "give_up": F,
                "report": (S, "report"),
            },
        )
    },
    "af3_sensor": {
        "af3_sensor": (
            S,
            {
                "counting": (S, None),
                "valued": (S, {"files": 2}),
                "decorated": (S, None),
                "after": S,
                "never": K,
                "after_never": K,
            },
        )
    },
    # its first run: no past yet (runs over several dates: test_depends_on_past_match_airflow.py)
    "af3_depends_on_past": {
        "af3_depends_on_past": (
            S,
            {
                "extract": (S, 15),
                "load": (S, 150),
                "report": (S, "reported"),
                "pick": S,  # Airflow 3 keeps no result of a branch that skipped tasks
                "even": K,
                "odd": S,
                "free": (S, "reported"),
            },
        )
    },
    # a task that retried with an hour's delay would not end: these end at once
    "af3_retry_policy": {
        "af3_retry_policy": (
            F,
            {
                "fails_at_once": F,
                "retried_at_once": (S, 3),
                "out_of_retries": F,
                "usual_retry": (S, 2),
            },
        )
    },
    "af3_short_circuit": {
        "af3_short_circuit": (
            S,
            {
                "stop_all": (S, None),
                "a1": K,
                "a2": K,
                "stop_direct": (S, None),
                "b1": K,
                "b2": S,
                "b3": K,
                "has_rows": (S, {"rows": 2}),
                "load": (S, "loaded"),
            },
        )
    },
    "af3_task_groups": {
        "af3_task_groups": (
            S,
            {
                "prepare.clean": S,
                "prepare.checks.schema": S,
                "prepare.checks.rows": S,
                "pipeline.double": (S, 2),
                "pipeline__1.inc": (S, 21),
                "collect": (S, [3, 21]),
            },
        )
    },
    "af3_taskflow": {
        "af3_taskflow": (
            S,
            {
                "summarize": (S, {"count": 3, "total": 6}),
                "scale_total": (S, 12),
                "scale": (S, 6),
                "label": (S, "rows: 12/3 []"),
            },
        )
    },
    "af3_taskflow_corners": {
        "af3_taskflow_corners": (
            S,
            {
                "stats": (S, {"cols": 2, "rows": 3}),
                "area": (S, 6),
                "templated": (S, ["2024-01-15", "plain x"]),
                "shell": (S, "w-20240115"),
                "recall": (S, "seen 2024-01-15"),
                "recall_template": (S, "seen 2024-01-15"),
                "x": S,
                "y": S,
            },
        )
    },
    "af3_templates_native": {
        "af3_templates_native": (
            S,
            {
                "native": (
                    S,
                    [
                        [3, 6],
                        4,
                        "15/01/2024",
                        8,
                        {"rows": 5},
                        "af3_templates_native/native",
                        "2024-01-15T00:00:00+00:00",
                    ],
                )
            },
        )
    },
    "af3_tutorial": {
        "af3_tutorial": (
            S,
            {
                "greet": (S, "hello dag"),
                "templated": (S, "2024-01-15 2024-01-22 task@eu"),
                "describe": (S, "2024-01-15 dag us 1"),
                "shout": (S, "TASKFLOW EU"),
            },
        )
    },
    "af3_trigger_rules": {
        "af3_trigger_rules": (
            F,
            {
                "ok": (S, "ok"),
                "boom": F,
                "skip": K,
                "after_bad": U,
                "after_after_bad": U,
                "alert_one_failed": (S, "child"),
                "all_failed": S,
                "none_failed": S,
                "none_skipped": K,
                "cleanup": S,
                "one_success": S,
            },
        )
    },
    "af2_xcomarg_lazy": {
        "af2_xcomarg_lazy": (
            S,
            {
                "checked": (F, [10, 20, None, None]),
                "after_checked": (S, "ran"),
                "skipping": (S, [1, 2, 3, None]),
                "after_skipping": K,
                "chained": (S, ["A!", "B!"]),
                "zipped_fill": (S, [[1, "a"], [2, "b"], [3, "-"], [4, "-"]]),
                "concat": (S, ["a", "b", "k1", "k2", 1, 2, 3, 4]),
                "over_mapped": (S, [3, 5, 7]),
                "echo": (S, ["a", "b"]),
                "plain": (S, [2, ["a", 1], [["a", 1], ["b", 2]]]),
            },
        )
    },
    "af2_mapped_task_groups": {
        "af2_mapped_task_groups": (
            S,
            {
                "per_item.check": (F, [10, None, 30]),
                "per_item.after": (U, ["L:10", None, "L:30"]),
                "per_item.cleanup": (S, ["clean", "clean", "clean"]),
                "per_item.index_only": (S, [0, 1, 2]),
                "collect": (S, ["L:10", "L:30"]),
                "pair.add": (S, [3, 30]),
                "from_map.show": (S, [100, 200, 300]),
            },
        ),
        "af2_mapped_groups_input_fails": (F, {"guarded.check": U, "guarded.cleanup": U}),
        "af2_mapped_groups_input_skips": (S, {"guarded.check": K, "guarded.cleanup": K}),
        "af2_mapped_groups_input_empty": (S, {"guarded.check": K, "guarded.cleanup": K}),
    },
    "af2_subdag": {
        "af2_subdag": (
            S,
            {"section-1": (S, None), "middle": (S, "middle 2024-01-15"), "section-2": S, "end": S},
        ),
        "af2_subdag.section-1": (S, {"section-1-task-0": (S, 0), "section-1-task-1": (S, 10)}),
        "af2_subdag.section-2": (S, {"section-2-task-0": (S, 0), "section-2-task-1": (S, 10)}),
    },
    "legacy_110_subdag": {
        "legacy_110_subdag": (S, {"first": S, "load": (S, None), "last": S}),
        "legacy_110_subdag.load": (S, {"extract": (S, [1, 2])}),
    },
    "af2_mapping_inputs": {
        "af2_mapping_inputs": (
            F,
            {
                "number": F,
                "over_number": U,
                "nothing": F,
                "over_nothing": U,
                "text": F,
                "over_text": U,
                "number_for_map": F,
                "over_mapped_number": U,
                "partial_number": (S, [[1, 5], [2, 5]]),
                "over_pair": (S, [[1, None], [2, None]]),
                "number_for_group": F,
                "group.inner": U,
            },
        )
    },
    "af2_setup_teardown": {
        "af2_st_work_fails": (F, {"make_cluster": (S, "cluster-1"), "boom": F, "drop_cluster": S}),
        "af2_st_teardown_fails": (S, {"broken_teardown": F}),
        "af2_st_teardown_fails_the_run": (F, {"ok": S, "strict_teardown": F}),
        "af2_st_setup_fails": (
            F,
            {"first": U, "second": U, "drop_cluster": U, "outside": (S, "ok")},
        ),
        "af2_st_short_circuit": (S, {"work": K, "drop_cluster": (S, "dropped cluster-1")}),
        "af2_st_setup_skipped": (S, {"make_cluster": K, "second": K, "drop_cluster": K}),
        "af2_st_context_manager": (S, {"two": (S, "ok ok"), "drop_cluster": S, "after": S}),
        "af2_st_group_and_classic": (S, {"section.end": F, "next": S}),
        "af2_st_nested": (F, {"inner_work": F, "inner_teardown": S, "outer_teardown": S}),
    },
    "af3_mapped_task_groups": {
        "af3_mapped_task_groups": (
            S,
            {
                "per_item.check": (F, [10, None, 30]),
                "per_item.after": (U, ["L:10", None, "L:30"]),
                "per_item.cleanup": (S, ["clean", "clean", "clean"]),
                "per_item.index_only": (S, [0, 1, 2]),
                "collect": (S, ["L:10", "L:30"]),
                "pair.add": (S, [3, 30]),
                "from_map.show": (S, [100, 200, 300]),
            },
        ),
        "af3_mapped_groups_input_fails": (F, {"guarded.check": U, "guarded.cleanup": U}),
        "af3_mapped_groups_input_skips": (S, {"guarded.check": K, "guarded.cleanup": K}),
        "af3_mapped_groups_input_empty": (S, {"guarded.check": K, "guarded.cleanup": K}),
    },
    "af3_mapping_inputs": {
        "af3_mapping_inputs": (
            F,
            {
                "number": F,
                "over_number": U,
                "nothing": F,
                "over_nothing": U,
                "text": F,
                "over_text": U,
                "number_for_map": F,
                "over_mapped_number": U,
                "partial_number": (S, [[1, 5], [2, 5]]),
                "over_pair": (S, [[1, None], [2, None]]),
                "number_for_group": F,
                "group.inner": U,
            },
        )
    },
    "af3_setup_teardown": {
        "st_work_fails": (F, {"make_cluster": (S, "cluster-1"), "boom": F, "drop_cluster": S}),
        "st_teardown_fails": (S, {"broken_teardown": F}),
        "st_teardown_fails_the_run": (F, {"ok": S, "strict_teardown": F}),
        "st_setup_fails": (
            F,
            {"first": U, "second": U, "drop_cluster": U, "outside": (S, "ok")},
        ),
        "st_short_circuit": (S, {"work": K, "drop_cluster": (S, "dropped cluster-1")}),
        "st_setup_skipped": (S, {"make_cluster": K, "second": K, "drop_cluster": K}),
        "st_context_manager": (S, {"two": (S, "ok ok"), "drop_cluster": S, "after": S}),
        "st_group_and_classic": (S, {"section.end": F, "next": S}),
        "st_nested": (F, {"inner_work": F, "inner_teardown": S, "outer_teardown": S}),
    },
    "af3_xcomarg_lazy": {
        "af3_xcomarg_lazy": (
            S,
            {
                "checked": (F, [10, 20, None, None]),
                "after_checked": (S, "ran"),
                "skipping": (S, [1, 2, 3, None]),
                "after_skipping": K,
                "chained": (S, ["A!", "B!"]),
                "zipped_fill": (S, [[1, "a"], [2, "b"], [3, "-"], [4, "-"]]),
                "concat": (S, ["a", "b", "k1", "k2", 1, 2, 3, 4]),
                "over_mapped": (S, [3, 5, 7]),
                "echo": (S, ["a", "b"]),
                "plain": (S, [2, ["a", 1], [["a", 1], ["b", 2]]]),
            },
        )
    },
    "af3_xcomarg_map_zip": {
        "af3_xcomarg_map_zip": (
            S,
            {
                "mapped_lengths": (S, [[1, 0], [2, 1]]),
                "zipped": (S, [[["x", 1], 0], [["yy", 2], 1]]),
            },
        )
    },
    "af3_inlet_event_templates": {
        "af3_inlet_event_templates": (
            S,
            {
                "produce": (S, None),
                "read": (
                    S,
                    '1 1 3 {"by": ["x", 1], "note": "\\u003ca\\u003e\\u0026\\u0027b\\u0027", '
                    '"rows": 3}',
                ),
            },
        ),
        "af3_inlet_event_templates_alias": (
            S,
            {"partition": (S, None), "by_alias": (S, '1 {"day": 1}')},
        ),
    },
    "af2_inlet_event_templates": {
        "af2_inlet_event_templates": (S, {"count": (S, "0 0")}),
        "af2_inlet_event_templates_undefined": (F, {"last_extra": (F, None)}),
    },
    "af3_xcom_styles": {
        "af3_xcom_styles": (
            S,
            {
                "skipped": K,
                "with_ti": (S, 2),
                "with_context": (S, [{"a": 1}, "b"]),
                "with_kwargs": (S, "pushed by b"),
                # Airflow 3.3 ignores xcom_pull's default unless map_indexes is given
                "with_task_instance": (S, [None, None, [None, "b"]]),
                "with_current_context": (S, ["b", "pushed by b"]),
                "in_jinja": (S, "1 pushed by b"),
            },
        )
    },
}

# Runs with params, which Airflow takes as the run's conf (conf overrides params), so
# dag_run.conf holds them too: case id -> (file stem, params, expectations as in EXPECTED).
PARAM_RUNS: dict[str, tuple[str, dict, dict[str, tuple[str, dict]]]] = {
    # the run's conf lies over a task's params too (dag.params < task.params < conf)
    **{
        f"{stem}+who_extra": (
            stem,
            {"who": "run", "extra": 2},
            {
                stem: (
                    S,
                    {
                        "greet": (S, "hello run"),
                        "templated": (S, "2024-01-15 2024-01-22 run@eu"),
                        "describe": (S, "2024-01-15 run us 2"),
                    },
                )
            },
        )
        for stem in ("legacy_110_tutorial", "af3_tutorial")
    },
    # a TaskFlow task's params (@task(params=...)) as an operator's: the run's conf over them
    "af3_tutorial+who_region": (
        "af3_tutorial",
        {"who": "run", "region": "ap"},
        {
            "af3_tutorial": (
                S,
                {
                    "shout": (S, "RUN AP"),
                    "templated": (S, "2024-01-15 2024-01-22 run@ap"),
                    "describe": (S, "2024-01-15 run ap 1"),
                },
            )
        },
    ),
    "af3_dag_decorator_bash+url": (
        "af3_dag_decorator_bash",
        {"url": "https://other.invalid/{{ ds_nodash }}"},
        {
            "af3_dag_decorator_bash": (
                S,
                {
                    "get_ip": (
                        S,
                        {"origin": "192.0.2.7", "url": "https://other.invalid/{{ ds_nodash }}"},
                    )
                },
            )
        },
    ),
    "af2_dag_decorator_params+email": (
        "af2_dag_decorator_params",
        {"email": "ops@example.com"},
        {
            "af2_dag_decorator_params": (
                S,
                {"send_email": (S, "ops@example.com: Server connected from 192.0.2.7")},
            )
        },
    ),
    "af2_branching+rows": (
        "af2_branching",
        {"rows": 500},
        {
            "af2_branching": (
                S,
                {"size": (S, "big"), "big": S, "small": K, "join": S, "join_default": K},
            )
        },
    ),
    "af2_taskflow_etl+factor_label": (
        "af2_taskflow_etl",
        {"factor": 5, "label": "items"},
        {"af2_taskflow_etl": (S, {"scale_total": (S, 30), "label": (S, "items: 30/3")})},
    ),
    "legacy_110_context_templates+who": (
        "legacy_110_context_templates",
        {"who": "dev"},
        {
            "legacy_110_context_templates": (
                S,
                {
                    "report": (
                        S,
                        {
                            "ds": "2024-01-15",
                            "ds_nodash": "20240115",
                            "ts": "2024-01-15T00:00:00+00:00",
                            "ts_nodash": "20240115T000000",
                            "execution_date": "2024-01-15T00:00:00+00:00",
                            "next_ds": "2024-01-15",
                            "who": "dev",
                            "conf": {"who": "dev"},
                            "templated": {"yesterday": "2024-01-14", "who": "dev"},
                        },
                    )
                },
            )
        },
    ),
    "af3_branching+rows": (
        "af3_branching",
        {"rows": 500},
        {
            "af3_branching": (
                S,
                {"size": (S, None), "big": S, "small": K, "join": S, "join_default": K},
            )
        },
    ),
    "af3_taskflow+factor_label": (
        "af3_taskflow",
        {"factor": 5, "label": "items"},
        {
            "af3_taskflow": (
                S,
                {"scale_total": (S, 30), "label": (S, "items: 30/3 ['factor', 'label']")},
            )
        },
    ),
    "af3_context+region": (
        "af3_context",
        {"region": "us"},
        {
            "af3_context": (
                S,
                {
                    "run_settings": (
                        S,
                        {"params": {"region": "us", "limit": 3}, "conf": {"region": "us"}},
                    ),
                    "templated": (S, "2024-01-15 20240115T000000 us 2024-01-15 Monday"),
                },
            )
        },
    ),
}

# the converter rules' fixtures (fixtures/dags/*_r_*.py) keep their expectations apart
EXPECTED.update(RULES_EXPECTED)

# 2.x-style files Airflow 3 still imports: (dag_id, task_id) -> (result on 2.11, result on 3.3)
# where the two differ; every other state and result must be the same on both.
_CALLBACKS_SEEN = [
    "broken failure ValueError('broken')",
    "broken also",
    "fine execute",
    "fine success",
    "fine also",
    "flaky execute",
    "flaky retry ConnectionError",
    "flaky execute",
    "flaky success",
    "skipper skipped",
]
ALSO_IN_AIRFLOW_3: dict[str, dict[tuple[str, str], tuple]] = {
    # the rules' 2.x task-group and callback fixtures import on Airflow 3 too: Airflow 3 stores
    # no return value for a branch, and does not call on_success_callback after
    # on_skipped_callback for a task that skipped itself (2.11 does)
    "af2_r_task_groups": {("af2_r_task_groups", "pick"): ("chosen", None)},
    "af2_r_task_callbacks": {
        ("af2_r_task_callbacks", "collect"): (
            [*_CALLBACKS_SEEN, "skipper success"],
            _CALLBACKS_SEEN,
        )
    },
    # airflow.decorators still imports on Airflow 3; mapped task groups run the same there
    "af2_mapped_task_groups": {},
    "af2_mapping_inputs": {},
    "af2_xcomarg_lazy": {},
    # airflow.decorators and airflow.models.baseoperator import on Airflow 3 too
    "af2_dag_decorator_params": {},
    # setup/teardown run the same on both; only the falsy short-circuits' return values differ
    "af2_setup_teardown": {
        ("af2_st_short_circuit", "go"): (False, None),
        ("af2_st_setup_skipped", "stop"): (False, None),
    },
    # Airflow 3 stores no return value for a branch (also in af2_task_groups) or a falsy
    # short-circuit
    "af2_branching": {
        ("af2_branching", "size"): ("small", None),
        ("af2_branching", "by_day"): (["mid_month", "audit"], None),
    },
    "af2_short_circuit": {
        ("af2_short_circuit", "stop_all"): (False, None),
        ("af2_short_circuit", "stop_direct"): ([], None),
    },
    # Airflow 3: a manual run's data interval is its logical date, whatever the schedule
    "af2_multi_dag_schedules": {
        ("af2_multi_daily", "interval"): (
            ["2024-01-14T00:00:00+00:00", "2024-01-15T00:00:00+00:00"],
            ["2024-01-15T00:00:00+00:00"] * 2,
        ),
        ("af2_multi_every_6h", "interval"): (
            ["2024-01-14T18:00:00+00:00", "2024-01-15T00:00:00+00:00"],
            ["2024-01-15T00:00:00+00:00"] * 2,
        ),
        ("af2_multi_cron", "interval"): (
            ["2024-01-13T02:15:00+00:00", "2024-01-14T02:15:00+00:00"],
            ["2024-01-15T00:00:00+00:00"] * 2,
        ),
    },
    # Airflow 3.3 returns None for a missing XCom unless map_indexes is given, and keeps None
    # for it in a list pull
    "af2_xcom_styles": {
        ("af2_xcom_styles", "with_task_instance"): (["fallback", ["b"]], [None, ["b", None]])
    },
    # Airflow 3.3 keeps None for an id without a value in a list pull; 2.11 leaves it out
    "af2_corners": {("af2_corners", "pull"): ([None, [1]], [None, [None, 1]])},
    "af2_custom_operator_variable": {},
    "af2_mapping": {},
    "af2_retries_exceptions": {},
    "af2_sensor": {},
    "af2_task_groups": {("af2_task_groups", "pick_group"): ("publish", None)},
    "af2_taskflow_corners": {},
    "af2_taskflow_etl": {},
    "af2_template_files": {},
    "af2_trigger_rules": {},
}


def style(path: Path) -> str:
    """The Airflow generation a fixture is written in: "1.10", "2" or "3" (from its name)."""
    return next(s for prefix, (s, _) in STYLES.items() if path.name.startswith(prefix))


def oracle_generation(path: Path) -> str:
    """The Airflow environment that is a fixture's oracle: "2" (Airflow 2.11) or "3"."""
    return next(g for prefix, (_, g) in STYLES.items() if path.name.startswith(prefix))


def env_for(path: Path) -> dict[str, str]:
    return ENV_FOR.get(path.stem, ENV)


def oracle_runs(paths: list[Path], generation: str) -> dict[str, dict]:
    """``{stem: airflow_run result}`` for ``paths`` on ``generation``, batched and cached."""
    results = airflow_run_many(
        [(p, LOGICAL_DATE, None, None, env_for(p)) for p in paths], generation=generation
    )
    return {p.stem: r for p, r in zip(paths, results, strict=True)}


def param_oracle() -> dict[str, dict]:
    """``{case id: airflow_run result}`` for every run of ``PARAM_RUNS``."""
    runs: dict[str, dict] = {}
    for generation in ("2", "3"):
        cases = [
            (case, FIXTURE_DAGS / f"{stem}.py", params)
            for case, (stem, params, _) in PARAM_RUNS.items()
            if oracle_generation(FIXTURE_DAGS / f"{stem}.py") == generation
        ]
        results = airflow_run_many(
            [(path, LOGICAL_DATE, None, params, env_for(path)) for _, path, params in cases],
            generation=generation,
        )
        runs |= {case: r for (case, _, _), r in zip(cases, results, strict=True)}
    return runs


def check_expected(dags: dict, expected: dict[str, tuple[str, dict]]) -> None:
    """Every DAG of ``expected`` and no other; its run state and the listed task outcomes."""
    assert set(dags) == set(expected)
    for dag_id, run in dags.items():
        # every task reached a final state: nothing was left unscheduled
        assert all(t["state"] in (S, F, K, U) for t in run["tasks"].values()), (dag_id, run)
        state, tasks = expected[dag_id]
        assert run["state"] == state, dag_id
        for task_id, want in tasks.items():
            got = run["tasks"][task_id]
            if isinstance(want, tuple):
                assert (got["state"], got["result"]) == want, f"{dag_id}.{task_id}"
            else:
                assert got["state"] == want, f"{dag_id}.{task_id}"


def fixture_oracle() -> dict[str, dict]:
    """Every fixture run on its own oracle generation."""
    runs: dict[str, dict] = {}
    for generation in ("2", "3"):
        runs |= oracle_runs([p for p in FIXTURES if oracle_generation(p) == generation], generation)
    return runs


@pytest.fixture(scope="module")
def oracle() -> dict[str, dict]:
    return fixture_oracle()


@pytest.fixture(scope="module")
def oracle_with_params() -> dict[str, dict]:
    return param_oracle()


@pytest.fixture(scope="module")
def oracle_3_for_2x() -> dict[str, dict]:
    return oracle_runs([FIXTURE_DAGS / f"{stem}.py" for stem in ALSO_IN_AIRFLOW_3], "3")


def test_every_fixture_has_expectations_and_a_docstring_naming_its_style():
    assert len(FIXTURES) >= 34
    assert {p.stem for p in FIXTURES} == set(EXPECTED)
    names = {"1.10": "Airflow 1.10 style", "2": "Airflow 2 style", "3": "Airflow 3 style"}
    for path in FIXTURES:
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        assert doc.startswith(names[style(path)]), path.name
    assert set(ALSO_IN_AIRFLOW_3) <= {p.stem for p in FIXTURES if style(p) == "2"}


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_fixture_runs_as_its_docstring_says(path, oracle):
    check_expected(oracle[path.stem], EXPECTED[path.stem])


@pytest.mark.parametrize("case", sorted(PARAM_RUNS))
def test_fixture_with_params_runs_as_expected(case, oracle_with_params):
    check_expected(oracle_with_params[case], PARAM_RUNS[case][2])


@pytest.mark.parametrize("stem", sorted(ALSO_IN_AIRFLOW_3))
def test_2x_file_gives_the_same_on_airflow_3_but_for_pinned_differences(
    stem, oracle, oracle_3_for_2x
):
    on_2, on_3 = oracle[stem], oracle_3_for_2x[stem]
    assert set(on_2) == set(on_3)
    differs = ALSO_IN_AIRFLOW_3[stem]
    for dag_id in on_2:
        assert on_2[dag_id]["state"] == on_3[dag_id]["state"], dag_id
        assert set(on_2[dag_id]["tasks"]) == set(on_3[dag_id]["tasks"]), dag_id
        for task_id, t2 in on_2[dag_id]["tasks"].items():
            t3 = on_3[dag_id]["tasks"][task_id]
            assert t2["state"] == t3["state"], (dag_id, task_id)
            if (dag_id, task_id) in differs:
                assert (t2["result"], t3["result"]) == differs[dag_id, task_id]
            else:
                assert t2["result"] == t3["result"], (dag_id, task_id)


def test_the_other_2x_files_do_not_import_on_airflow_3():
    others = [p for p in FIXTURES if style(p) == "2" and p.stem not in ALSO_IN_AIRFLOW_3]
    assert others, "every 2.x file loads on Airflow 3: drop this test"
    with pytest.raises(OracleError) as caught:
        oracle_runs(others, "3")
    message = str(caught.value)
    for path in others:
        assert f"/{path.name}:\nTraceback" in message, path
