"""Properties of runs over random graphs: every task's state follows from its trigger rule
and its upstream states, and the threaded scheduler agrees with the one-thread one."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dagshift import Flow, SkipTask, task
from dagshift.runtime.state import TRIGGER_RULES, decide, run_state


@task
def behave(kind):
    if kind == "fail":
        raise RuntimeError("planned failure")
    if kind == "skip":
        raise SkipTask("planned skip")
    return kind


@st.composite
def random_flows(draw):
    n = draw(st.integers(min_value=1, max_value=10))
    spec = []
    for i in range(n):
        ups = draw(st.sets(st.integers(min_value=0, max_value=i - 1), max_size=3)) if i else set()
        spec.append(
            (
                sorted(ups),
                draw(st.sampled_from(["ok", "fail", "skip"])),
                draw(st.sampled_from(TRIGGER_RULES)),
            )
        )
    return spec


def _build(spec):
    with Flow("random") as flow:
        refs = []
        for i, (ups, kind, rule) in enumerate(spec):
            refs.append(
                behave.override(task_id=f"t{i}", trigger_rule=rule)(
                    kind, upstream_tasks=[refs[u] for u in ups]
                )
            )
    return flow


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_flows())
def test_states_follow_trigger_rules_and_schedulers_agree(spec):
    flow = _build(spec)
    threaded = flow.run()
    synced = flow.run(scheduler="sync")
    states = {t: r.state for t, r in threaded.tasks.items()}
    assert states == {t: r.state for t, r in synced.tasks.items()}
    for i, (ups, kind, rule) in enumerate(spec):
        verdict = decide(rule, [states[f"t{u}"] for u in ups])
        ran = {"ok": "success", "fail": "failed", "skip": "skipped"}[kind]
        assert states[f"t{i}"] == (verdict or ran)
    leaves = [t for t in flow.graph if flow.graph.out_degree(t) == 0]
    assert threaded.state == run_state(states[t] for t in leaves)
