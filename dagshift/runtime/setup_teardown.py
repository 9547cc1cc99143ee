"""Setup and teardown tasks: which setups a task waits on, and which tasks decide a run's state.

A task is a *setup* or a *teardown* by its options (``setup=True`` / ``teardown=True``; the
compat shim sets them from Airflow's ``as_setup()``, ``as_teardown()``, ``@setup`` and
``@teardown``). Airflow gives them three rules, ported here as pure functions of the graph
(Airflow 2.7+ and 3.x agree; see ``airflow/ti_deps/deps/trigger_rule_dep.py`` and
``DagRun._tis_for_dagrun_state``):

- a teardown's trigger rule is ``all_done_setup_success`` (see :func:`~dagshift.runtime.state
  .decide`): it runs when what is upstream is done and a setup upstream of it succeeded, even
  when the work between them failed;
- a work task also waits on its *relevant* setups further upstream (a setup with no teardown,
  or one whose teardown is downstream of the task): one failed makes it ``upstream_failed``, one
  skipped makes it ``skipped``, whatever its own trigger rule (:func:`indirect_setups`);
- a run's state comes from its *effective* leaves: a teardown does not count (unless it has
  ``on_failure_fail_dagrun``), and a task whose only downstream tasks are such teardowns is a
  leaf (:func:`effective_leaves`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import networkx as nx

__all__ = ["effective_leaves", "indirect_setups", "roles"]


def roles(graph: nx.DiGraph, options: Mapping[str, Mapping[str, Any]]) -> tuple[set, set]:
    """The ids of the setup tasks and of the teardown tasks, from each node's options."""
    setups = {t for t in graph if options[t].get("setup")}
    teardowns = {t for t in graph if options[t].get("teardown")}
    return setups, teardowns


def indirect_setups(
    graph: nx.DiGraph, task_id: str, setups: set[str], teardowns: set[str]
) -> tuple[str, ...]:
    """The relevant setups of ``task_id`` that are not its direct upstream tasks (Airflow's
    ``get_upstreams_only_setups`` less ``upstream_task_ids``); none for a teardown."""
    if task_id in teardowns or not setups:
        return ()
    later_teardowns = nx.descendants(graph, task_id) & teardowns
    direct = set(graph.predecessors(task_id))
    found = []
    for setup in sorted(nx.ancestors(graph, task_id) & setups):
        own = set(graph.successors(setup)) & teardowns
        if (not own or own & later_teardowns) and setup not in direct:
            found.append(setup)
    return tuple(found)


def effective_leaves(graph: nx.DiGraph, teardowns: set[str], fail_run: set[str]) -> list[str]:
    """The tasks whose states decide the run's: leaves once teardowns that do not fail the run
    (not in ``fail_run``) are left out; every plain leaf if that leaves none."""
    ignorable = teardowns - fail_run

    def is_leaf(task_id: str) -> bool:
        if task_id in ignorable:
            return False
        return all(d in ignorable for d in graph.successors(task_id))

    leaves = [t for t in graph if is_leaf(t)]
    return leaves or [t for t in graph if graph.out_degree(t) == 0]
