"""Params: ``params={"k": Param(default, description, type=..., ...)}`` of a DAG ->
``params={"k": Parameter("k", default, description=..., type=..., ...)}`` of its Flow.

``dagshift.Parameter`` holds what Airflow's ``Param`` holds: the default (none: the run must
give a value), the description, and the other keywords as a JSON Schema that the run's value
(given, else the default) must satisfy, checked with jsonschema as Airflow's ``Param.resolve``
does; a run whose value fails it does not start, in both. The task sees the value in
``params``, as before. Only the forms whose meaning is plain convert: a dict literal with string
keys whose ``Param(...)`` values take at most the default and the description positionally and
no ``schema=`` / ``source=``; anything else keeps the DAG (``Param`` stays: DS026).
"""

from __future__ import annotations

import libcst as cst

from dagshift.converter.model import kwarg, string_value
from dagshift.converter.names import qualified

__all__ = ["PARAMS", "flow_params"]

DESCRIPTION = "DAG params Param(default, description, type=...) -> Parameter with its schema"

PARAMS = {
    "airflow.models.param.Param",
    "airflow.models.Param",
    "airflow.sdk.Param",
    "airflow.sdk.definitions.param.Param",
}


def _parameter(key: str, call: cst.Call) -> cst.Call | None:
    """``Parameter("key", ...)`` for ``Param(...)``, or None when the form is not plain."""
    positional = [a for a in call.args if a.keyword is None]
    if any(a.star for a in call.args) or len(positional) > 2:
        return None
    keywords = {a.keyword.value for a in call.args if a.keyword is not None}
    if keywords & {"schema", "source", "default"} or (
        len(positional) == 2 and "description" in keywords
    ):
        return None
    args = [cst.Arg(cst.SimpleString(f'"{key}"'))]
    if positional:
        args.append(cst.Arg(positional[0].value))
    if len(positional) == 2:
        args.append(kwarg("description", positional[1].value))
    args += [kwarg(a.keyword.value, a.value) for a in call.args if a.keyword is not None]
    return cst.Call(cst.Name("Parameter"), args)


def flow_params(value: cst.BaseExpression, names: dict[str, str]) -> cst.BaseExpression | None:
    """The Flow's ``params`` value, or None when ``value`` holds no ``Param`` to rewrite."""
    if not isinstance(value, cst.Dict):
        return None
    elements = []
    changed = False
    for el in value.elements:
        if (
            isinstance(el, cst.DictElement)
            and isinstance(el.value, cst.Call)
            and qualified(el.value.func, names) in PARAMS
        ):
            key = string_value(el.key)
            new = _parameter(key, el.value) if key is not None else None
            if new is None:
                return None
            el = el.with_changes(value=new)
            changed = True
        elements.append(el)
    return value.with_changes(elements=elements) if changed else None
