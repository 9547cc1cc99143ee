"""What real Airflow gives for the converter rules' fixture DAGs (``fixtures/dags/*_r_*.py``).

The same table shape as ``EXPECTED`` in test_fixture_dags_in_airflow.py, which takes these
entries in (kept apart so that the rules' fixtures and the other fixtures are edited apart).
Each value was read from the oracle run at 2024-01-15 with ``ENV``'s Variables and is checked
against it there; test_converted_rules_match_airflow.py checks the converted files against the
same runs, every task and result.
"""

from __future__ import annotations

S, F = "success", "failed"

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

# scheduling.py: assets, conditions and timetables (fixtures/dags/af*_r_scheduling.py). A run
# of dag.test() is not started by asset events: the triggering events are empty in both.
RULES_EXPECTED.update(
    {
        "af2_r_scheduling": {
            "af2_r_scheduling_producer": (
                S,
                {"write": (S, ["s3://bucket/raw.csv", "file:///tmp/dagshift_other"])},
            ),
            "af2_r_scheduling_consumer": (S, {"read": (S, [[], [True, False, 1]])}),
            # a data-interval timetable: the run for a date covers the period ending before it
            "af2_r_scheduling_nightly": (
                S,
                {
                    "span": (
                        S,
                        ["2024-01-15", "2024-01-13 02:00:00+00:00", "2024-01-14 02:00:00+00:00"],
                    )
                },
            ),
        },
        "af3_r_scheduling": {
            # Airflow 3's URI rules: scheme lowercased, query sorted, fragment and trailing
            # slash dropped; the name stays as written
            "af3_r_scheduling_producer": (
                S,
                {
                    "write": (
                        S,
                        [
                            "s3://bucket/raw.csv?a=1&b=2",
                            "S3://bucket/raw.csv/?b=2&a=1#part",
                            "file:///tmp/dagshift_other",
                            "other",
                        ],
                    )
                },
            ),
            "af3_r_scheduling_consumer": (S, {"read": (S, [0, [], [True, False, 1]])}),
            # Airflow 3: a run that is not scheduled covers (date, date), whatever the timetable
            "af3_r_scheduling_nightly": (
                S,
                {
                    "span": (
                        S,
                        ["2024-01-15", "2024-01-15 00:00:00+00:00", "2024-01-15 00:00:00+00:00"],
                    )
                },
            ),
        },
    }
)
