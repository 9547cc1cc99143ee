"""Task states, task-run records and Airflow's trigger rules as pure functions.

A task run ends in one of four states, named as in Airflow: ``success``, ``failed``,
``skipped`` and ``upstream_failed``. Whether a task runs at all is decided by its trigger
rule from the final states of its direct upstream tasks. The rules below follow Airflow 3's
``airflow/ti_deps/deps/trigger_rule_dep.py`` exactly, evaluated once every upstream task has
finished (Airflow may start ``one_*`` rules earlier; the final states are the same).

``decide(rule, states)`` returns ``None`` when the task should run, or the state it gets
without running. It is a pure function so that it can be tested as a truth table and checked
cell by cell against real Airflow.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

SUCCESS = "success"
FAILED = "failed"
SKIPPED = "skipped"
UPSTREAM_FAILED = "upstream_failed"
# A task that did not start, or was stopped, because its run was cancelled (not an Airflow
# task state: Airflow marks such tasks failed or skipped by hand; dagshift names the cause).
CANCELLED = "cancelled"

FINAL_STATES = (SUCCESS, FAILED, SKIPPED, UPSTREAM_FAILED)


class TriggerRule(StrEnum):
    """Airflow's trigger rules; members are strings, as in Airflow (``TriggerRule.ALL_DONE ==
    "all_done"``, ``.value`` and ``str()`` give the name the runtime takes)."""

    ALL_SUCCESS = "all_success"
    ALL_FAILED = "all_failed"
    ALL_DONE = "all_done"
    ALL_DONE_MIN_ONE_SUCCESS = "all_done_min_one_success"
    ALL_DONE_SETUP_SUCCESS = "all_done_setup_success"
    ALL_SKIPPED = "all_skipped"
    ONE_SUCCESS = "one_success"
    ONE_FAILED = "one_failed"
    ONE_DONE = "one_done"
    NONE_FAILED = "none_failed"
    NONE_FAILED_MIN_ONE_SUCCESS = "none_failed_min_one_success"
    NONE_SKIPPED = "none_skipped"
    ALWAYS = "always"
    # Names older Airflow releases used for the same rules.
    DUMMY = "dummy"
    NONE_FAILED_OR_SKIPPED = "none_failed_or_skipped"

    @classmethod
    def is_valid(cls, trigger_rule: str) -> bool:
        return trigger_rule in {r.value for r in cls}

    @classmethod
    def all_triggers(cls) -> set[str]:
        return {r.value for r in cls}


TRIGGER_RULES = (
    "all_success",
    "all_failed",
    "all_done",
    "all_skipped",
    "one_success",
    "one_failed",
    "one_done",
    "none_failed",
    "none_failed_min_one_success",
    "none_skipped",
    "always",
    "all_done_min_one_success",
    "all_done_setup_success",
)

__all__ = [
    "CANCELLED",
    "FAILED",
    "FINAL_STATES",
    "SKIPPED",
    "SUCCESS",
    "TRIGGER_RULES",
    "UPSTREAM_FAILED",
    "TaskRun",
    "TriggerRule",
    "decide",
    "decide_setups",
    "run_state",
    "validate_trigger_rule",
]


def validate_trigger_rule(rule: Any) -> str:
    """Return ``rule`` as a plain string, or raise ValueError naming the valid rules."""
    value = getattr(rule, "value", rule)
    if value not in TRIGGER_RULES:
        raise ValueError(f"unknown trigger rule {rule!r}; use one of: {', '.join(TRIGGER_RULES)}")
    return value


def decide(
    rule: str, upstream_states: Iterable[str], setup_states: Iterable[str] = ()
) -> str | None:
    """Decide a task's fate from its trigger rule and its upstream tasks' final states.

    Returns ``None`` if the task should run, otherwise the state it is given without running
    (``skipped`` or ``upstream_failed``). ``setup_states`` are the states of the direct
    upstream tasks that are setup tasks (also counted in ``upstream_states``): a teardown's
    rule, ``all_done_setup_success``, runs it once everything upstream is done, unless it has
    setups upstream and none succeeded (``upstream_failed``) or all skipped (``skipped``).

    >>> decide("all_success", ["success", "skipped"])
    'skipped'
    >>> decide("none_failed", ["skipped", "skipped"]) is None
    True
    """
    states = Counter(upstream_states)
    upstream = sum(states.values())
    if upstream == 0 or rule == "always":
        return None
    success, failed = states[SUCCESS], states[FAILED]
    skipped, upstream_failed = states[SKIPPED], states[UPSTREAM_FAILED]
    any_failed = failed or upstream_failed
    if rule == "all_success":
        if any_failed:
            return UPSTREAM_FAILED
        return SKIPPED if skipped else None
    if rule == "all_failed":
        return SKIPPED if success or skipped else None
    if rule == "all_done":
        return None
    if rule == "all_skipped":
        return SKIPPED if success or any_failed else None
    if rule == "one_success":
        if skipped == upstream:
            return SKIPPED
        return UPSTREAM_FAILED if success == 0 else None
    if rule == "one_failed":
        return None if any_failed else SKIPPED
    if rule == "one_done":
        return None if failed or success else SKIPPED
    if rule == "none_failed":
        return UPSTREAM_FAILED if any_failed else None
    if rule == "none_failed_min_one_success":
        if any_failed:
            return UPSTREAM_FAILED
        if skipped == upstream:
            return SKIPPED
        return UPSTREAM_FAILED if success == 0 else None
    if rule == "none_skipped":
        return SKIPPED if skipped else None
    if rule == "all_done_setup_success":
        setups = Counter(setup_states)
        if sum(setups.values()) and setups[SKIPPED] == sum(setups.values()):
            return SKIPPED
        return UPSTREAM_FAILED if sum(setups.values()) and not setups[SUCCESS] else None
    if rule == "all_done_min_one_success":
        if skipped:
            return SKIPPED
        return UPSTREAM_FAILED if success == 0 else None
    raise ValueError(f"unknown trigger rule {rule!r}")


def decide_setups(indirect_setup_states: Iterable[str]) -> str | None:
    """A work task's fate from its relevant setups that are not its direct upstream tasks
    (Airflow's setup constraint, checked before the trigger rule): ``upstream_failed`` when
    one failed, ``skipped`` when one skipped, ``None`` (go on to the trigger rule) when all
    succeeded."""
    states = set(indirect_setup_states)
    if states & {FAILED, UPSTREAM_FAILED}:
        return UPSTREAM_FAILED
    return SKIPPED if SKIPPED in states else None


def run_state(leaf_states: Iterable[str]) -> str:
    """A run's final state from its leaf tasks, as Airflow's DagRun.update_state decides it."""
    leaves = list(leaf_states)
    if any(s in (FAILED, UPSTREAM_FAILED) for s in leaves):
        return FAILED
    return SUCCESS


@dataclass
class TaskRun:
    """What happened to one task in one run.

    Attributes:
        task_id: the node id in the flow graph.
        state: one of ``success``, ``failed``, ``skipped``, ``upstream_failed``.
        result: the return value (for a mapped task, the list of per-element results).
        error: ``repr`` of the exception that failed the task, if any.
        traceback: the formatted traceback of that exception.
        tries: how many times the body was started (0 when it never ran).
        start, end: wall-clock times (seconds since the epoch) of the first start and the end.
        pushed: keyed values the task published besides its result (Airflow's xcom_push).
        skip: task ids this task decided must be skipped (branching and short-circuits);
            carried downstream so that every task in it is skipped whatever its trigger rule.
        message: why the task got its state without running, or why it was skipped.
        logs: what the body printed and logged, as ``(time, stream, level, text)`` entries
            (see :mod:`dagshift.runtime.logcapture`); empty when it never ran.
    """

    task_id: str
    state: str
    result: Any = None
    error: str | None = None
    traceback: str | None = None
    tries: int = 0
    start: float | None = None
    end: float | None = None
    pushed: dict[str, Any] = field(default_factory=dict)
    skip: frozenset[str] = frozenset()
    message: str | None = None
    exception: BaseException | None = field(default=None, repr=False, compare=False)
    logs: list[tuple[float, str, str | None, str]] = field(
        default_factory=list, repr=False, compare=False
    )

    @property
    def duration(self) -> float | None:
        """Seconds from first start to end, or None if the task never ran."""
        if self.start is None or self.end is None:
            return None
        return self.end - self.start

    @property
    def ok(self) -> bool:
        return self.state == SUCCESS

    @classmethod
    def not_run(cls, task_id: str, state: str, message: str, skip=frozenset()) -> TaskRun:
        now = time.time()
        return cls(task_id, state, end=now, message=message, skip=skip)
