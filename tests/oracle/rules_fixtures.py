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
}
