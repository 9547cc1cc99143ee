"""A task option set on a task's placeholder after the call (``t.trigger_rule = ...``) is the
task's option, as an Airflow operator's attribute set after it is made."""

from __future__ import annotations

import pytest

from dagshift import Flow, task


@task
def breaks():
    raise RuntimeError("broken")


@task
def reports():
    return "reported"


def test_a_trigger_rule_set_after_the_call_decides_whether_the_task_runs():
    with Flow("later") as flow:
        broken, report = breaks(), reports()
        broken >> report
        report.trigger_rule = "all_done"
    run = flow.run()
    assert run.tasks["breaks"].state == "failed"
    assert (run.tasks["reports"].state, run.result("reports")) == ("success", "reported")
    assert report.trigger_rule == "all_done"


def test_a_duration_set_after_the_call_is_normalized_and_a_bad_value_refused():
    with Flow("later_bad"):
        report = reports()
        report.timeout = 60
        assert report.timeout.total_seconds() == 60
        with pytest.raises(ValueError, match="trigger"):
            report.trigger_rule = "sometimes"
