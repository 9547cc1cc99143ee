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

A setup or teardown task's reference opens a ``with`` block, as in Airflow
(``with teardown_task(setup_task()):``, ``with setup >> teardown:``): the tasks made in it get
the setup upstream and the teardown downstream on leaving it (:func:`enter`, :func:`leave`,
Airflow's own bookkeeping in :mod:`dagshift.runtime.setup_teardown_context`); ``ref.as_setup()``
and ``ref.as_teardown(setups=...)`` give a task its role later (:func:`mark_setup`,
:func:`mark_teardown`); a loaded flow is checked as Airflow's DagBag checks a DAG
(:func:`validate`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import networkx as nx

from dagshift.runtime.relatives import Relatives
from dagshift.runtime.setup_teardown_context import BaseSetupTeardownContext

__all__ = [
    "FlowSetupTeardown",
    "FlowTask",
    "added",
    "effective_leaves",
    "enter",
    "indirect_setups",
    "leave",
    "mark_setup",
    "mark_teardown",
    "roles",
    "validate",
]


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


class FlowSetupTeardown(BaseSetupTeardownContext):
    """The ``with`` blocks over setup and teardown tasks of flows being defined."""

    @staticmethod
    def add_task(task: Any) -> None:
        """Count ``task`` (a task's reference) as work of the open blocks (Airflow's
        ``SetupTeardownContext.add_task``)."""
        if not FlowSetupTeardown.active:
            raise RuntimeError("add_task() is for the work of a setup or teardown `with` block")
        FlowSetupTeardown.update_context_map(FlowTask(task.flow, task.task_id))


class FlowTask(Relatives):
    """A task of a flow as Airflow's bookkeeping sees an operator: its role, its neighbours,
    and edges made with ``>>`` / ``<<`` (which return their right side, as Airflow's)."""

    __slots__ = ("flow", "task_id")

    def __init__(self, flow: Any, task_id: str) -> None:
        self.flow, self.task_id = flow, task_id

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, FlowTask)
            and other.flow is self.flow
            and other.task_id == self.task_id
        )

    def __hash__(self) -> int:
        return hash((id(self.flow), self.task_id))

    def __repr__(self) -> str:
        return f"<FlowTask {self.task_id}>"

    @property
    def is_setup(self) -> bool:
        return bool(self.flow.get_task(self.task_id).options.get("setup"))

    @property
    def is_teardown(self) -> bool:
        return bool(self.flow.get_task(self.task_id).options.get("teardown"))

    @property
    def upstream_list(self) -> list[FlowTask]:
        return [FlowTask(self.flow, t) for t in self.flow.upstream_ids(self.task_id)]

    @property
    def downstream_list(self) -> list[FlowTask]:
        return [FlowTask(self.flow, t) for t in self.flow.downstream_ids(self.task_id)]

    def set_upstream(self, other: Any) -> None:
        for task in _tasks(other):
            self.flow.add_edge(task.task_id, self.task_id)

    def set_downstream(self, other: Any) -> None:
        for task in _tasks(other):
            self.flow.add_edge(self.task_id, task.task_id)


def _tasks(obj: Any) -> Iterator[FlowTask]:
    if isinstance(obj, list | tuple):
        for item in obj:
            yield from _tasks(item)
    else:
        yield obj


def enter(refs: Any) -> type[FlowSetupTeardown]:
    """``with ref:`` (a setup or teardown task's reference, or a list of them): the tasks made
    until the block ends are its work."""
    tasks = [FlowTask(r.flow, r.task_id) for r in (refs if isinstance(refs, list) else [refs])]
    for task in tasks:
        if not task.is_setup and not task.is_teardown:
            raise TypeError(
                f"task {task.task_id!r} is neither a setup nor a teardown task: only those open "
                "a `with` block (give it @task(setup=True) or @task(teardown=True, ...))"
            )
    FlowSetupTeardown.push_setup_teardown_task(tasks if isinstance(refs, list) else tasks[0])
    return FlowSetupTeardown


def leave() -> None:
    """The end of a ``with`` block over a setup or teardown: its work's edges are made."""
    FlowSetupTeardown.set_work_task_roots_and_leaves()


def added(flow: Any, task_id: str) -> None:
    """A task was added to ``flow``: inside a ``with`` block, it is the block's work."""
    if FlowSetupTeardown.active:
        FlowSetupTeardown.update_context_map(FlowTask(flow, task_id))


def mark_setup(ref: Any) -> None:
    """``ref.as_setup()``: the task is a setup task from now on (Airflow's ``as_setup``)."""
    options = ref.node.options
    if options.get("teardown"):
        raise ValueError(f"Cannot mark task '{ref.task_id}' as setup; task is already a teardown.")
    options["setup"] = True


def mark_teardown(ref: Any, setups: Any = None, on_failure_fail_dagrun: bool | None = None) -> None:
    """``ref.as_teardown(setups=..., on_failure_fail_dagrun=...)``, as Airflow's: the task is a
    teardown whose trigger rule is ``all_done_setup_success``; each of ``setups`` (a task's
    reference or a list of them) becomes a setup task directly upstream of it."""
    options = ref.node.options
    if options.get("setup"):
        raise ValueError(f"Cannot mark task '{ref.task_id}' as teardown; task is already a setup.")
    options["teardown"] = True
    options["trigger_rule"] = "all_done_setup_success"
    if on_failure_fail_dagrun is not None:
        options["fails_run"] = bool(on_failure_fail_dagrun)
    for setup in _tasks(setups) if setups is not None else ():
        mark_setup(setup)
        setup >> ref


def validate(flow: Any) -> None:
    """Airflow's check once a DAG file has run (``DAG.validate_setup_teardown``, 2.11 and 3.3):
    a setup task's direct downstream tasks are teardowns or keep the trigger rule all_success."""
    for task_id in flow.graph:
        if not flow.get_task(task_id).options.get("setup"):
            continue
        for down in flow.downstream_ids(task_id):
            node = flow.get_task(down)
            if not node.options.get("teardown") and node.trigger_rule != "all_success":
                raise ValueError(
                    "Setup tasks must be followed with trigger rule ALL_SUCCESS. "
                    f"(task {down!r} follows setup {task_id!r} with {node.trigger_rule!r}: "
                    "give it all_success, or put a task between)"
                )
