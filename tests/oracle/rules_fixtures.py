"""What real Airflow gives for the converter rules' fixture DAGs (``fixtures/dags/*_r_*.py``).

The same table shape as ``EXPECTED`` in test_fixture_dags_in_airflow.py, which takes these
entries in (kept apart so that the rules' fixtures and the other fixtures are edited apart).
Each value was read from the oracle run at 2024-01-15 with ``ENV``'s Variables and is checked
against it there; test_converted_rules_match_airflow.py checks the converted files against the
same runs, every task and result.
"""

from __future__ import annotations

S, F, K = "success", "failed", "skipped"

_KEY_ERROR = "caught 'Variable dagshift_absent does not exist'"
_SHAPE = '{\n  "ds": "2024-01-15",\n  "n": [\n    1,\n    2\n  ]\n}'


def _neighbours(dag_id: str, nxt: str, prev: str, next_date: str, prev_date: str) -> list:
    """The ``neighbours`` task's result in Airflow 2.11 (``str()`` of each value)."""
    return [
        nxt,
        prev,
        "2024-01-14",
        "20240116",
        nxt.replace("-", ""),
        prev.replace("-", ""),
        "2024-01-16",
        "20240114",
        next_date,
        prev_date,
        "2024-01-15T00:00:00+00:00",
        f"{dag_id}__neighbours__20240115",
        "2024-01-22",
    ]


def _templated(dag_id: str, nxt: str, prev: str, next_date: str, prev_date: str) -> str:
    nodash = [v.replace("-", "") for v in (prev, nxt)]
    return (
        f"{prev} {nxt} {nodash[0]} {nodash[1]} 2024-01-14 20240116 {next_date} {prev_date}"
        f" 20240115 {dag_id}__templated__20240115"
    )


def _context_dag(dag_id: str, nxt: str, prev: str, next_date: str, prev_date: str) -> dict:
    return {
        "neighbours": (S, _neighbours(dag_id, nxt, prev, next_date, prev_date)),
        "templated": (S, _templated(dag_id, nxt, prev, next_date, prev_date)),
    }


def _task_callbacks(skipped_then_success: bool) -> dict:
    """af2_r_task_callbacks / af3_r_task_callbacks: the callbacks' lines, by task, in order.
    Airflow 2.11 calls on_success_callback after on_skipped_callback for a task that skipped
    itself; Airflow 3.3 calls on_skipped_callback only."""
    lines = [
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
    return {
        "fine": (S, "fine"),
        "flaky": (S, "second"),
        "broken": F,
        "skipper": K,
        "after_skip": K,  # skipped by its upstream: no callback of its own
        "collect": (S, lines + ["skipper success"] * skipped_then_success),
    }


def _task_groups(pick: str | None) -> dict:
    """af2_r_task_groups / af3_r_task_groups: the same on both (Airflow 3 keeps no return value
    of a branch)."""
    return {
        "start": (S, None),
        "extract.flaky": (S, "second try"),  # the group's retries=1, no delay
        "extract.checks.broken": F,  # its own retries=0
        "extract.checks.after": (S, "after"),  # the nested group's all_done
        "shown": (S, "second try"),  # prefix_group_id=False; a pull of extract.flaky
        "doubled.side": F,
        "doubled__1.side": F,
        "doubled.double": (S, 2),
        "doubled__1.double": (S, 20),
        "total": (S, 22),  # only the returned tasks are upstream of it
        "pick": (S, pick),
        "chosen.a": (S, None),
        "chosen.b": (S, None),
        "other.a": K,
    }


_DAILY = ("2024-01-15", "2024-01-14", "2024-01-15 00:00:00+00:00", "2024-01-14 00:00:00+00:00")
# 02:15 daily at 2024-01-15 00:00: the interval [01-13 02:15, 01-14 02:15] ends at the next
# logical date, and the previous schedule before the date is that same 01-14 02:15
_CRON = ("2024-01-14", "2024-01-14", "2024-01-14 02:15:00+00:00", "2024-01-14 02:15:00+00:00")
_SIX_HOURS = ("2024-01-15", "2024-01-14", "2024-01-15 00:00:00+00:00", "2024-01-14 18:00:00+00:00")
_NONE = ("None", "None", "None", "None")

RULES_EXPECTED: dict[str, dict[str, tuple[str, dict]]] = {
    "af2_r_variables": {
        "af2_r_variables": (
            F,
            {
                "greeting": (S, "hi"),
                "limits": (S, 5),
                "missing_caught": (S, _KEY_ERROR),
                "missing_fails": F,
                "remember": (S, None),
                "read_back": (S, ["2024-01-15", _SHAPE, {"ds": "2024-01-15", "n": [1, 2]}, None]),
                "templated": (S, "hi 5 none"),
            },
        )
    },
    "af2_r_callbacks": {
        "af2_r_callbacks": (
            S,
            {
                "fine": (S, "fine"),
                "broken": F,
                "second_try": (S, "second"),
                "collect": (
                    S,
                    [
                        "failure broken ValueError('broken')",
                        "retry second_try ConnectionError",
                        "success fine",
                        "success second_try",
                    ],
                ),
            },
        )
    },
    "af2_r_task_callbacks": {
        "af2_r_task_callbacks": (S, _task_callbacks(skipped_then_success=True)),
    },
    "af3_r_task_callbacks": {
        "af3_r_task_callbacks": (S, _task_callbacks(skipped_then_success=False)),
    },
    "af2_r_task_groups": {"af2_r_task_groups": (F, _task_groups(pick="chosen"))},
    "af3_r_task_groups": {"af3_r_task_groups": (F, _task_groups(pick=None))},
    "af2_r_default_args": {
        "af2_r_default_args_merged": (S, {"flaky": (S, "second try")}),
        "af2_r_default_args_built": (F, {"no_retry": F}),
        "af2_r_default_args_returned": (S, {"broken": F, "after": (S, "ran anyway")}),
    },
    "af2_r_context": {
        "af2_r_context_daily": (
            S,
            {
                **_context_dag("af2_r_context_daily", *_DAILY),
                "run_values": (
                    S,
                    "nobody 2024-01-15 20240115T000000 15.01.2024 2024-01-14T00:00:00+00:00",
                ),
            },
        ),
        "af2_r_context_cron": (S, _context_dag("af2_r_context_cron", *_CRON)),
        "af2_r_context_6h": (S, _context_dag("af2_r_context_6h", *_SIX_HOURS)),
        "af2_r_context_none": (S, _context_dag("af2_r_context_none", *_NONE)),
    },
    "af3_r_bash_commands": {
        "af3_r_bash_commands": (
            S,
            {
                "fstring": (S, "orders 003 20240115 run-orders"),
                "concat": (S, "run-orders 2024"),
                "formatted": (S, "orders 3 ops"),
                "report": (S, "ops on 2024-01-15"),
            },
        )
    },
    "af3_r_params": {
        "af3_r_params": (
            S,
            {"report": (S, {"plain": 3, "rows": 10, "who": "ops"}), "templated": (S, "20 ops")},
        )
    },
    "af3_r_context": {
        "af3_r_context": (
            S,
            {
                "values": (
                    S,
                    {
                        "absent": "fallback",
                        "conf": {},
                        "end": "2024-01-15T00:00:00+00:00",
                        "formatted": "15/01/2024",
                        "greeting": "hi",
                        "later": "2024-01-04T00:00:00",
                        "limits": {"rows": 5},
                        "logical": "2024-01-15T00:00:00+00:00",
                        "rows": 5,
                        "week_ago": "2024-01-08",
                    },
                ),
                "objects": (S, "af3_r_context objects objects -1 af3_r_context af3_r_context"),
                "templated": (
                    S,
                    "2024-01-15 20240115 2024-01-15T00:00:00+00:00 20240115T000000"
                    " 20240115T000000+0000 nobody hi 5 2024-01-16",
                ),
            },
        )
    },
}
