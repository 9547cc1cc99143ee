"""The fixture flows behave as their docstrings say."""

from pathlib import Path

import pytest

from dagshift.runtime.loader import load_file

FLOWS = Path(__file__).parents[2] / "fixtures" / "flows"


def _run(name, **kwargs):
    (flow,) = load_file(FLOWS / name)
    return flow.run(**kwargs)


def test_etl_converts_to_eur_and_loads():
    run = _run("etl.py", logical_date="2024-01-15")
    assert run.tasks["transform"].result["total_eur"] == 5.0 + 6.0 + 7.5 + 0.5
    assert run.tasks["load"].result == "loaded 4 rows, 19.00 EUR"


@pytest.mark.parametrize(
    ("date", "taken", "skipped"),
    [
        ("2024-01-15", "weekday", "weekend"),  # a Monday
        ("2024-01-13", "weekend", "weekday"),  # a Saturday
    ],
)
def test_branching_takes_one_side_and_joins(date, taken, skipped):
    run = _run("branching.py", logical_date=date)
    states = {t: r.state for t, r in run.tasks.items()}
    assert (states[taken], states[skipped], states["join"]) == ("success", "skipped", "success")


def test_fan_out_fan_in_sums_the_squares():
    assert _run("fan_out_in.py").tasks["total"].result == sum(i * i for i in range(8))


def test_flaky_succeeds_on_the_third_try():
    run = _run("flaky.py")
    assert (run.tasks["flaky"].tries, run.tasks["report"].result) == (3, "SUCCEEDED ON TRY 3")


def test_parameterized_flow_uses_its_parameters_and_the_logical_date():
    run = _run(
        "parameterized.py", parameters={"city": "Oslo", "days": 3}, logical_date="2024-03-30"
    )
    assert run.tasks["forecast"].result == ["Oslo 2024-03-30", "Oslo 2024-03-31", "Oslo 2024-04-01"]
    assert run.tasks["count"].result == 3
