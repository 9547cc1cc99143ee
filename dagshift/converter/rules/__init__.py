"""The converter's rules: one module per construct, each registered here as a :class:`Rule`.

A rule says what it takes and how it analyzes and rewrites it; ``dag_job.py`` dispatches
through :data:`REGISTRY` and names no operator itself. The hooks a rule may have:

- ``calls(full, call, file) -> kind | None``: whether an operator call in a DAG's body is this
  rule's task (``full``: the callee's qualified Airflow name, or None; ``file``: the
  :class:`~dagshift.converter.dag_job.FileInfo`). The first rule in registry order whose
  ``calls`` answers a kind takes the call, so the bridge (``bridged``) comes last.
- ``plan(job, call, kind, expand) -> plan``: analysis of that call (``expand``: the
  ``.expand(...)`` argument of a mapped ``Operator.partial(...).expand(...)``, else None).
  Raise :class:`~dagshift.converter.model.Unsupported` for anything not converted exactly.
  The plan has ``args`` (an :class:`~dagshift.converter.rules.operators.OperatorArgs`) and
  may have ``pushes`` (XCom keys it pushes) and ``bridged`` (True: the operator stays).
- ``build(job, plan, index, call) -> expression``: the rewritten call (``index``: the
  statement's position in the DAG body, for XCom pulls through ``job.pulled``).
- ``mapped``: kind -> the one argument ``.expand(...)`` may map over for that kind.
- ``rewrite_call(job, original, updated, full) -> expression | None``: other calls of the
  body (``chain(...)``), None to leave them.
- ``rewrite_binary(job, original, updated) -> expression | None``: ``>>`` / ``<<`` forms.

Rules without hooks (context values, XCom, callables ...) are used by the others; they are
registered for ``dagshift migrate --list-rules`` and the docs. A new rule: a module with its
``RULE = Rule(...)``, added to ``REGISTRY`` below (before ``bridged``), and its golden cases in
``fixtures/convert/<rule>/`` (input, ``# output``, expected), collected by one parametrized test.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["REGISTRY", "RULES", "Rule", "call_rule"]


@dataclass(frozen=True)
class Rule:
    """One construct the converter converts (see the module docstring for the hooks)."""

    name: str
    description: str
    calls: Callable[[str | None, Any, Any], str | None] | None = None
    plan: Callable[[Any, Any, str, Any], Any] | None = None
    build: Callable[[Any, Any, int, Any], Any] | None = None
    mapped: Mapping[str, str] = field(default_factory=dict)
    rewrite_call: Callable[[Any, Any, Any, str | None], Any] | None = None
    rewrite_binary: Callable[[Any, Any, Any], Any] | None = None


def _registry() -> list[Rule]:
    from dagshift.converter.rules import (
        airflow_values,
        bash_call,
        bridged,
        builders,
        callables,
        callbacks,
        context,
        context_whole,
        dag_definition,
        dag_function_params,
        default_args,
        dependencies,
        empty_operator,
        kept_names,
        mapped_groups,
        operators,
        params,
        python_operator,
        retry_policy,
        scheduling,
        setup_teardown,
        task_groups,
        taskflow,
        variables,
        xcom,
    )

    def described(module: Any) -> Rule:
        return Rule(module.__name__.rpartition(".")[2], module.DESCRIPTION)

    return [
        described(dag_definition),
        described(dag_function_params),
        described(default_args),
        described(callbacks),
        described(operators),
        python_operator.RULE,
        bash_call.RULE,
        empty_operator.RULE,
        described(callables),
        described(context),
        described(context_whole),
        described(xcom),
        described(taskflow),
        described(setup_teardown),
        mapped_groups.RULE,  # before task_groups, whose override(...) it may follow
        task_groups.RULE,
        dependencies.RULE,
        described(airflow_values),
        described(variables),
        described(params),
        described(scheduling),
        described(retry_policy),
        builders.RULE,
        described(kept_names),
        bridged.RULE,  # last: it takes every operator no other rule takes
    ]


REGISTRY: list[Rule] = _registry()
RULES: dict[str, str] = {rule.name: rule.description for rule in REGISTRY}


def call_rule(full: str | None, call: Any, file: Any) -> tuple[Rule, str] | None:
    """The rule (and kind) that takes an operator call, if one does."""
    for rule in REGISTRY:
        if rule.calls is not None:
            kind = rule.calls(full, call, file)
            if kind is not None:
                return rule, kind
    return None
