"""Trigger rules as truth tables: each rule against each combination of upstream states.

The expected cells are written out by hand from Airflow 3's trigger_rule_dep.py (tests/oracle
checks the same cells against real Airflow). R = the task runs, K = skipped,
U = upstream_failed. Upstream states: S success, F failed, K skipped, U upstream_failed.
A teardown's rule, all_done_setup_success, is all_done when no setup is upstream (its setup
cells are in test_setup_teardown.py).
"""

import pytest

from dagshift import Flow, SkipTask, task
from dagshift.runtime.state import TRIGGER_RULES, decide

COMBOS = "S F K U SS SF SK SU FF FK FU KK KU UU".split()
TABLE = """
all_success                  R U K U R U K U U U U K U U
all_failed                   K R K R K K K K R K R K K R
all_done                     R R R R R R R R R R R R R R
all_skipped                  K K R K K K K K K K K R K K
one_success                  R U K U R R R R U U U K U U
one_failed                   K R K R K R K R R R R K R R
one_done                     R R K K R R R R R R R K K K
none_failed                  R U R U R U R U U U U R U U
none_failed_min_one_success  R U K U R U R U U U U K U U
none_skipped                 R R K R R R K R R K R K K R
always                       R R R R R R R R R R R R R R
all_done_min_one_success     R U K U R R K R U K U K K U
all_done_setup_success       R R R R R R R R R R R R R R
"""
STATE = {"S": "success", "F": "failed", "K": "skipped", "U": "upstream_failed"}
OUTCOME = {"R": None, "K": "skipped", "U": "upstream_failed"}
CELLS = [
    (line.split()[0], combo, cell)
    for line in TABLE.strip().splitlines()
    for combo, cell in zip(COMBOS, line.split()[1:], strict=True)
]


def test_the_table_covers_every_rule():
    assert sorted({rule for rule, _, _ in CELLS}) == sorted(TRIGGER_RULES)


@pytest.mark.parametrize(("rule", "combo", "cell"), CELLS, ids=[f"{r}-{c}" for r, c, _ in CELLS])
def test_decide_matches_the_truth_table(rule, combo, cell):
    assert decide(rule, [STATE[c] for c in combo]) == OUTCOME[cell]


def test_a_task_without_upstream_tasks_always_runs():
    for rule in TRIGGER_RULES:
        assert decide(rule, []) is None


def test_an_unknown_trigger_rule_is_refused_when_the_task_is_defined():
    with pytest.raises(ValueError, match="unknown trigger rule 'al_success'"):
        task(lambda: None, trigger_rule="al_success")


@task
def ok():
    return "ok"


@task
def boom():
    raise RuntimeError("boom")


@task
def skip():
    raise SkipTask("nothing to do")


@task
def after(*_):
    return "ran"


def _upstream(kind: str):
    if kind == "S":
        return ok()
    if kind == "F":
        return boom()
    if kind == "K":
        return skip()
    return after(boom())  # upstream_failed: an all_success task after a failure


@pytest.mark.parametrize("rule", TRIGGER_RULES)
def test_running_flows_follow_the_truth_table(rule, executor):
    """The same cells, produced by really running tasks that succeed, fail and skip."""
    with Flow(f"rule_{rule}") as flow:
        probes = {}
        for combo in COMBOS:
            ups = [_upstream(k) for k in combo]
            probes[combo] = after.override(task_id=f"probe_{combo}", trigger_rule=rule)(
                upstream_tasks=ups
            )
    run = flow.run(**executor)
    expected = {combo: cell for r, combo, cell in CELLS if r == rule}
    for combo, ref in probes.items():
        got = run.tasks[ref.task_id].state
        want = OUTCOME[expected[combo]] or "success"
        assert got == want, f"{rule} with upstream {combo}: got {got}, want {want}"
