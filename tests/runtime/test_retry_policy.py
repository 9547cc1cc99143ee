"""Retry policies decide from a failure's exception (Airflow 3.3's; the fixture
af3_retry_policy.py pins the rules against real Airflow). Corners here: a policy of one's own,
one that raises, FailTask, and a wrong option."""

from datetime import timedelta

import pytest

from dagshift import FailTask, Flow, task
from dagshift.runtime.retry_policy import (
    RetryAction,
    RetryDecision,
    RetryPolicy,
    RetryRule,
)


class EverySecondTry(RetryPolicy):
    def __init__(self):
        self.seen = []

    def evaluate(self, exception, try_number, max_tries, context=None):
        self.seen.append((type(exception).__name__, try_number, max_tries, context["task_id"]))
        return (
            RetryDecision.fail("enough") if try_number == 2 else RetryDecision.retry(timedelta(0))
        )


class Broken(RetryPolicy):
    def evaluate(self, exception, try_number, max_tries, context=None):
        raise RuntimeError("a broken policy")


@task
def fails():
    raise ValueError("no")


@task
def refuses():
    raise FailTask("never again")


def _tries(policy, fn=fails, **options):
    with Flow("policies") as flow:
        fn.override(task_id="t", retries=5, retry_policy=policy, **options)()
    run = flow.run()
    return run["t"].state, run["t"].tries


def test_a_policy_of_ones_own_sees_each_failure_and_may_fail_the_task_early():
    policy = EverySecondTry()
    assert _tries(policy) == ("failed", 2)
    assert policy.seen == [("ValueError", 1, 5, "t"), ("ValueError", 2, 5, "t")]


def test_a_policy_that_raises_leaves_the_usual_retries():
    assert _tries(Broken(), retry_delay=0) == ("failed", 6)


def test_fail_task_fails_at_once_whatever_the_policy_says():
    policy = EverySecondTry()
    assert _tries(policy, refuses) == ("failed", 1)
    assert policy.seen == []  # not even asked


def test_a_rule_names_an_exception_by_a_dotted_path_and_refuses_a_bare_name():
    assert RetryRule(exception="builtins.LookupError").matches(KeyError("k"))
    assert not RetryRule(exception="builtins.LookupError", match_subclasses=False).matches(
        KeyError("k")
    )
    assert not RetryRule(exception="no.such.Error").matches(KeyError("k"))
    with pytest.raises(ValueError, match="dotted import path"):
        RetryRule(exception="KeyError", action=RetryAction.FAIL)


def test_retry_policy_must_be_a_policy():
    with pytest.raises(TypeError, match="retry_policy must be a RetryPolicy"):
        fails.override(retry_policy="fail")
