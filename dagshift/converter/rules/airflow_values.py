"""Airflow values with a dagshift equivalent, rewritten where a converted DAG uses them.

``TriggerRule.ALL_DONE`` given as a ``trigger_rule`` -> ``"all_done"``; elsewhere (read as a
value: ``rule.value``, a tuple of members looped over) -> ``dagshift.TriggerRule.ALL_DONE``, the
same string enum (the enum itself, iterated or called, stays and keeps its DAG as it is);
``AirflowSkipException`` / ``AirflowFailException`` -> ``SkipTask`` / ``FailTask``;
``get_current_context()["ds"]`` (a context name with a dagshift value, see ``context.py``) in a
function -> ``get_run_context()["ds"]``;
``days_ago(n)`` -> ``pendulum.today("UTC").subtract(days=n)``
(midnight UTC n days ago, as Airflow computes it; ``hour=``, ``minute=``, ``second=``,
``microsecond=``, by name or position, -> ``.replace(hour=...)`` before the subtraction, as
Airflow's ``utcnow().replace(...) - timedelta(days=n)``; ``airflow.utils.dates.days_ago`` and
``dates.days_ago`` through a module import alike);
``Variable.get/set/delete(...)`` -> ``dagshift.Variable.get/set/delete(...)`` where it means
the same
(``variables.py`` says where).
"""

from __future__ import annotations

import libcst as cst

from dagshift.converter.model import evaluated, kwarg
from dagshift.converter.names import (
    DAYS_AGO,
    EXCEPTIONS,
    GET_CURRENT_CONTEXT,
    TRIGGER_RULES,
    qualified,
)
from dagshift.converter.rules import retry_policy, scheduling
from dagshift.converter.rules.context import context_lookup, context_values
from dagshift.converter.rules.variables import catches_key_error, variable_call
from dagshift.converter.walk import nodes
from dagshift.runtime.state import TriggerRule

__all__ = ["AirflowValues"]

DESCRIPTION = (
    "TriggerRule.X, AirflowSkip/FailException, days_ago(n, hour=...) -> dagshift equivalents"
)


class AirflowValues(cst.CSTTransformer):
    """Rewrites the values above; ``needs`` collects the dagshift names and modules used."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self.needs: set[str] = set()
        self.modules: set[str] = set()
        self._rule = 0  # inside a trigger_rule= value: a TriggerRule member is its string
        self._airflow3 = any(
            full.startswith(("airflow.sdk", "airflow.providers.standard"))
            for full in names.values()
        )
        self._guarded: set[int] = set()  # calls inside a try that catches KeyError
        # names that are no use of an import: right of a dot (``x.Asset``), a keyword, a
        # parameter, a definition's or an assignment's target; not rewritten
        self._attrs: set[int] = set()
        self._shadow: list[set[str]] = []  # names the functions around bind themselves

    def visit_Try(self, node: cst.Try) -> None:
        if self._airflow3 and catches_key_error(node):
            self._guarded |= {id(n) for n in nodes(node.body) if isinstance(n, cst.Call)}

    def visit_Arg(self, node: cst.Arg) -> None:
        self._rule += bool(node.keyword and node.keyword.value == "trigger_rule")
        if node.keyword is not None:
            self._attrs.add(id(node.keyword))

    def visit_Param(self, node: cst.Param) -> None:
        self._attrs.add(id(node.name))

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        if isinstance(node.target, cst.Name):
            self._attrs.add(id(node.target))

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._attrs.add(id(node.name))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._attrs.add(id(node.name))
        self._shadow.append(_bound_in(node))

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef):
        self._shadow.pop()
        return updated

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self._shadow.append(_bound_in(node))

    def leave_Lambda(self, original: cst.Lambda, updated: cst.Lambda):
        self._shadow.pop()
        return updated

    def leave_Arg(self, original: cst.Arg, updated: cst.Arg) -> cst.Arg:
        self._rule -= bool(original.keyword and original.keyword.value == "trigger_rule")
        return updated

    def visit_Assign(self, node: cst.Assign) -> None:  # t.trigger_rule = TriggerRule.X
        self._rule += _sets_rule(node)

    def leave_Assign(self, original: cst.Assign, updated: cst.Assign):
        self._rule -= _sets_rule(original)
        return updated

    def visit_DictElement(self, node: cst.DictElement) -> None:
        self._rule += _is_rule_key(node)

    def leave_DictElement(self, original: cst.DictElement, updated: cst.DictElement):
        self._rule -= _is_rule_key(original)
        return updated

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self._attrs.add(id(node.attr))

    def visit_Import(self, node: cst.Import) -> bool:
        return False  # an import's names stay as written

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def _scheduling(self, full: str | None) -> cst.BaseExpression | None:
        found = scheduling.replacement(full) or retry_policy.replacement(full)
        if found is None:
            return None
        self.modules.add(found[1])
        return cst.parse_expression(found[0])

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute):
        full = qualified(original, self.names)
        if full is None:
            return updated
        if (new := self._scheduling(full)) is not None:
            return new
        owner, _, member = full.rpartition(".")
        if owner in TRIGGER_RULES and member.isupper() and self._rule:
            rule = member.lower()
            return cst.SimpleString(f'"{_RENAMED.get(rule, rule)}"')
        if owner in TRIGGER_RULES and member in _MEMBERS[self._airflow3]:
            # read as a value (``rule.value``, a loop over members): dagshift's enum has the
            # same members, strings equal to their values, as Airflow's
            self.modules.add("dagshift")
            return cst.Attribute(_DAGSHIFT_TRIGGER_RULE, cst.Name(member))
        if full in EXCEPTIONS:
            self.needs.add(EXCEPTIONS[full])
            return cst.Name(EXCEPTIONS[full])
        return updated

    def leave_SimpleString(self, original: cst.SimpleString, updated: cst.SimpleString):
        if self._rule and evaluated(original) in _RENAMED:
            return cst.SimpleString(f'"{_RENAMED[evaluated(original)]}"')
        return updated

    def leave_Name(self, original: cst.Name, updated: cst.Name):
        if id(original) in self._attrs or any(original.value in b for b in self._shadow):
            return updated  # not the import's name here: it stays (and keeps its DAG)
        full = qualified(original, self.names)
        if (new := self._scheduling(full)) is not None:
            return new
        if full in EXCEPTIONS:
            self.needs.add(EXCEPTIONS[full])
            return cst.Name(EXCEPTIONS[full])
        return updated

    def leave_Subscript(self, original: cst.Subscript, updated: cst.Subscript):
        """``get_current_context()["ds"]`` in a function: the run context's value of that name."""
        call = original.value
        if not (self._shadow and isinstance(call, cst.Call) and not call.args):
            return updated  # outside a task Airflow has no context to give: it stays
        if not isinstance(call.func, cst.Name) or any(call.func.value in b for b in self._shadow):
            return updated
        if qualified(call.func, self.names) not in GET_CURRENT_CONTEXT:
            return updated
        key = _literal_key(original)
        found = context_values(legacy=not self._airflow3).get(key or "")
        if found is None:
            return updated  # ti, dag_run ... are read otherwise: it stays (DS002)
        self.needs.add("get_run_context")
        return context_lookup(found)

    def leave_Call(self, original: cst.Call, updated: cst.Call):
        if variable_call(original, self.names) and id(original) not in self._guarded:
            # dagshift.Variable, not Variable: a name left as the file's import spells it
            # would read as the airflow name that stays, to every check after this one
            self.modules.add("dagshift")
            return updated.with_changes(func=updated.func.with_changes(value=_DAGSHIFT_VARIABLE))
        if qualified(original.func, self.names) not in DAYS_AGO:
            return updated
        given = _days_ago_arguments(updated)
        if given is None:
            return updated  # *args / **kwargs: kept as written (the shim's days_ago)
        self.modules.add("pendulum")
        today: cst.BaseExpression = cst.parse_expression('pendulum.today("UTC")')
        time = [kwarg(name, given[name]) for name in _DAYS_AGO_PARAMETERS[1:] if name in given]
        if time:  # Airflow: utcnow().replace(hour=..., ...) - timedelta(days=n)
            today = cst.Call(cst.Attribute(today, cst.Name("replace")), time)
        return cst.Call(cst.Attribute(today, cst.Name("subtract")), [kwarg("days", given["n"])])


# Airflow's days_ago(n, hour=0, minute=0, second=0, microsecond=0) (airflow/utils/dates.py)
_DAYS_AGO_PARAMETERS = ("n", "hour", "minute", "second", "microsecond")


def _days_ago_arguments(call: cst.Call) -> dict[str, cst.BaseExpression] | None:
    """``days_ago``'s arguments by parameter name, or None when a call's form is not one
    Python would bind plainly (``*args``, ``**kwargs``, an unknown or repeated name, no n)."""
    given: dict[str, cst.BaseExpression] = {}
    for i, arg in enumerate(call.args):
        if arg.star:
            return None
        if arg.keyword is None:
            if i >= len(_DAYS_AGO_PARAMETERS):
                return None
            name = _DAYS_AGO_PARAMETERS[i]
        else:
            name = arg.keyword.value
        if name not in _DAYS_AGO_PARAMETERS or name in given:
            return None
        given[name] = arg.value
    return given if "n" in given else None


# TriggerRule's members in Airflow 2.11 and 3.x, but the old names (DUMMY,
# NONE_FAILED_OR_SKIPPED: the runtime knows their rules by their new names only)
_MEMBERS = {
    False: frozenset(r.name for r in TriggerRule)
    - {"DUMMY", "NONE_FAILED_OR_SKIPPED"}
    - {"ALL_DONE_MIN_ONE_SUCCESS"},
    True: frozenset(r.name for r in TriggerRule) - {"DUMMY", "NONE_FAILED_OR_SKIPPED"},
}

# Trigger rules Airflow renamed, with the same meaning: the runtime knows the new names.
_RENAMED = {"none_failed_or_skipped": "none_failed_min_one_success", "dummy": "always"}


def _bound_in(fn: cst.FunctionDef | cst.Lambda) -> set[str]:
    """Names a function binds itself: its parameters and the targets assigned in it."""
    out: set[str] = set()
    for node in nodes(fn):
        if type(node) is cst.Param:
            out.add(node.name.value)
        elif type(node) in (cst.AssignTarget, cst.AnnAssign, cst.AugAssign, cst.For):
            out |= _bound_by(node.target)
        elif type(node) is cst.AsName and isinstance(node.name, cst.Name):
            out.add(node.name.value)
    return out


def _bound_by(target: cst.BaseExpression) -> set[str]:
    """Names an assignment target binds (``x``, ``a, *b``), not those an attribute or a
    subscript target reads (``ctx["k"].extra = ...`` binds none)."""
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, cst.Tuple | cst.List):
        return {n for e in target.elements for n in _bound_by(e.value)}
    if isinstance(target, cst.StarredElement):
        return _bound_by(target.value)
    return set()


def _literal_key(node: cst.Subscript) -> str | None:
    if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
        return None
    value = node.slice[0].slice.value
    return evaluated(value) if isinstance(value, cst.SimpleString) else None


def _sets_rule(node: cst.Assign) -> bool:
    return any(
        isinstance(t.target, cst.Attribute) and t.target.attr.value == "trigger_rule"
        for t in node.targets
    )


def _is_rule_key(node: cst.DictElement) -> bool:
    return isinstance(node.key, cst.SimpleString) and evaluated(node.key) == "trigger_rule"


_DAGSHIFT_VARIABLE = cst.Attribute(cst.Name("dagshift"), cst.Name("Variable"))
_DAGSHIFT_TRIGGER_RULE = cst.Attribute(cst.Name("dagshift"), cst.Name("TriggerRule"))
_EQ = cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace(""))
