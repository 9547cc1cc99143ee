"""XCom: ``ti.xcom_pull(...)`` becomes a parameter fed by the upstream result (a data edge);
``ti.xcom_push(key=..., value=...)`` becomes ``push(key, value)``, a named output of the task
(its result stays its return value) that a pull by ``key=`` reads as ``ref.pushed(key)``; pulls
inside Jinja strings (``{{ ti.xcom_pull(task_ids='a') }}``) become template variables passed to
the task."""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst

from dagshift.converter.model import Unsupported, string_value

__all__ = ["Pull", "ident", "jinja_pulls", "parse_pull", "parse_push"]

DESCRIPTION = "xcom_pull -> parameter fed by the upstream result; xcom_push -> push(key, value)"


@dataclass(frozen=True)
class Pull:
    """One ``xcom_pull``: which task(s), which key (None = return value), what default."""

    task_ids: tuple[str, ...]
    many: bool  # task_ids was a list: the value is a list
    key: str | None
    default: str | None  # source of the default= expression

    def param_name(self) -> str:
        base = "_".join(ident(t) for t in self.task_ids)
        return f"{base}_{ident(self.key)}" if self.key else base


def ident(text: str) -> str:
    out = re.sub(r"\W", "_", text)
    return out if out and not out[0].isdigit() else f"_{out}"


def parse_pull(call: cst.Call, module: cst.Module) -> Pull:
    """The pull a ``<ti>.xcom_pull(...)`` call makes; Unsupported unless all is literal."""
    task_ids: cst.BaseExpression | None = None
    key: str | None = None
    default = None
    for i, arg in enumerate(call.args):
        name = arg.keyword.value if arg.keyword else None
        if arg.star or (name is None and i > 0):
            raise Unsupported(call, "DS070", "xcom_pull with an argument form not converted")
        if name in (None, "task_ids"):
            task_ids = arg.value
        elif name == "key":
            key = string_value(arg.value)
            if key is None:
                raise Unsupported(call, "DS071", "xcom_pull key= is not a string literal")
        elif name == "default":
            default = module.code_for_node(arg.value)
        else:
            raise Unsupported(call, "DS070", f"xcom_pull argument {name}= is not converted")
    if key == "return_value":
        key = None
    if isinstance(task_ids, cst.List | cst.Tuple):
        ids = tuple(string_value(e.value) for e in task_ids.elements)
        if ids and all(ids):
            return Pull(ids, True, key, default)  # type: ignore[arg-type]
    elif string_value(task_ids) is not None:
        return Pull((string_value(task_ids),), False, key, default)  # type: ignore[arg-type]
    raise Unsupported(call, "DS072", "xcom_pull task_ids is not a string literal or a list of them")


def parse_push(call: cst.Call) -> tuple[str, cst.BaseExpression]:
    """Key and value of a ``<ti>.xcom_push(key=..., value=...)`` call."""
    found: dict[str, cst.BaseExpression] = {}
    for i, arg in enumerate(call.args):
        name = arg.keyword.value if arg.keyword else ("key", "value")[min(i, 1)]
        if arg.star or name not in ("key", "value") or name in found:
            raise Unsupported(call, "DS073", "xcom_push argument form is not converted")
        found[name] = arg.value
    key = string_value(found.get("key"))
    if key is None or "value" not in found:
        raise Unsupported(call, "DS073", "xcom_push without a string-literal key and a value")
    return key, found["value"]


_Q = r"""(['"])"""
_JINJA_PULLS = (  # (regex, group of the task id, group of the key)
    (
        re.compile(
            r"\b(?:ti|task_instance)\.xcom_pull\(\s*(?:task_ids\s*=\s*)?"
            + _Q
            + r"([\w.-]+)\1\s*(?:,\s*key\s*=\s*"
            + _Q
            + r"([\w.-]+)\3\s*)?\)"
        ),
        2,
        4,
    ),
    (
        re.compile(
            r"\b(?:ti|task_instance)\.xcom_pull\(\s*key\s*=\s*"
            + _Q
            + r"([\w.-]+)\1\s*,\s*task_ids\s*=\s*"
            + _Q
            + r"([\w.-]+)\3\s*\)"
        ),
        4,
        2,
    ),
)


def jinja_pulls(text: str) -> tuple[str, list[Pull]]:
    """A template with each ``ti.xcom_pull(task_ids='a'[, key='k'])`` made ``xcom_a[_k]``,
    and the pulls.

    Raises ValueError when a pull of another form remains (a list, an expression, a push).
    """
    pulls: list[Pull] = []

    def sub(match: re.Match[str], id_group: int, key_group: int) -> str:
        key = match.group(key_group)
        pull = Pull((match.group(id_group),), False, None if key == "return_value" else key, None)
        pulls.append(pull)
        return "xcom_" + pull.param_name()

    out = text
    for regex, id_group, key_group in _JINJA_PULLS:
        out = regex.sub(lambda mt, i=id_group, k=key_group: sub(mt, i, k), out)
    if "xcom_pull" in out or "xcom_push" in out:
        raise ValueError("an xcom_pull in a template that is not a plain task_ids='...' pull")
    return out, list(dict.fromkeys(pulls))
