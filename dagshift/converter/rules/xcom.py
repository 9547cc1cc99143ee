"""XCom: ``ti.xcom_pull(...)`` becomes a parameter fed by the upstream result (a data edge);
``ti.xcom_push(key=..., value=...)`` becomes ``push(key, value)``, a named output of the task
(its result stays its return value) that a pull by ``key=`` reads as ``ref.pushed(key)``; pulls
inside Jinja strings (``{{ ti.xcom_pull(task_ids='a') }}``) become template variables passed to
the task."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import libcst as cst
import libcst.matchers as m

from dagshift.converter.model import Unsupported, string_value

__all__ = ["ANY_KEY", "Pull", "ident", "jinja_pulls", "parse_pull", "parse_push", "template_name"]

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
        if self.key == ANY_KEY:
            return f"{base}_any_key"
        return f"{base}_{ident(self.key)}" if self.key else base


# ``key=None`` in a 1.10/2.x file: Airflow 2.11 pulls the task's latest XCom of any key
ANY_KEY = "<any key>"


def template_name(pull: Pull) -> str:
    """The template variable a pull in a template becomes (a list pull's apart from a single
    one of the same task and key)."""
    return f"xcom_{pull.param_name()}{'_list' if pull.many else ''}"


def ident(text: str) -> str:
    out = re.sub(r"\W", "_", text)
    return out if out and not out[0].isdigit() else f"_{out}"


def parse_pull(
    call: cst.Call, module: cst.Module, *, legacy: bool = False, constants: Any = None
) -> Pull:
    """The pull a ``<ti>.xcom_pull(...)`` call makes; Unsupported unless all is literal.

    ``key=`` may also be a name the module binds once to a string (``constants``), and in a
    1.10/2.x file (``legacy``) ``None``: any key (``ANY_KEY``; Airflow 3 fails such a pull)."""
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
            if key is None and constants is not None and isinstance(arg.value, cst.Name):
                found = constants.value(arg.value)
                key = found if isinstance(found, str) else None
            if key is None and m.matches(arg.value, m.Name("None")):
                if not legacy:
                    raise Unsupported(call, "DS071", "xcom_pull key=None: Airflow 3 fails it")
                key = ANY_KEY
            if key is None:
                raise Unsupported(
                    call,
                    "DS071",
                    "xcom_pull key= is not a string literal (nor a name bound once to one)",
                )
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


def parse_push(call: cst.Call, constants: Any = None) -> tuple[str, cst.BaseExpression]:
    """Key and value of a ``<ti>.xcom_push(key=..., value=...)`` call (the key a string, or a
    name the module binds once to one: ``constants``)."""
    found: dict[str, cst.BaseExpression] = {}
    for i, arg in enumerate(call.args):
        name = arg.keyword.value if arg.keyword else ("key", "value")[min(i, 1)]
        if arg.star or name not in ("key", "value") or name in found:
            raise Unsupported(call, "DS073", "xcom_push argument form is not converted")
        found[name] = arg.value
    key = string_value(found.get("key"))
    if key is None and constants is not None and isinstance(found.get("key"), cst.Name):
        named = constants.value(found["key"])
        key = named if isinstance(named, str) else None
    if key is None or "value" not in found:
        raise Unsupported(call, "DS073", "xcom_push without a string-literal key and a value")
    return key, found["value"]


# ``ti.xcom_pull(...)`` / ``task_instance.xcom_pull(...)`` in a template; its arguments may
# hold one level of parentheses (a tuple of task ids)
_JINJA_PULL = re.compile(r"\b(?:ti|task_instance)\.xcom_pull\(((?:[^()]|\([^()]*\))*)\)")


def _pull_arguments(args: str, dag_id: str | None) -> tuple[tuple[str, ...], bool, str | None]:
    """(task ids, whether a list, key) of a template pull's arguments when they are literals:
    task_ids (first or by name) a string or a list/tuple of them, key= a string, dag_id= the
    DAG's own id; ValueError otherwise."""
    import ast

    try:
        call = ast.parse(f"_({args})", mode="eval").body
    except SyntaxError:
        call = None
    if (
        not isinstance(call, ast.Call)
        or len(call.args) > 1
        or any(isinstance(a, ast.Starred) for a in call.args)
    ):
        raise ValueError("an xcom_pull in a template with arguments not converted")
    found = {"task_ids": call.args[0]} if call.args else {}
    for kw in call.keywords:
        if kw.arg not in ("task_ids", "key", "dag_id") or kw.arg in found:
            raise ValueError(f"an xcom_pull in a template with argument {kw.arg}= not converted")
        found[kw.arg] = kw.value
    try:
        values = {name: ast.literal_eval(node) for name, node in found.items()}
    except ValueError:
        raise ValueError("an xcom_pull in a template with arguments not literals") from None
    ids, key = values.get("task_ids"), values.get("key", "return_value")
    if "dag_id" in values and (dag_id is None or values["dag_id"] != dag_id):
        raise ValueError("an xcom_pull in a template from another DAG (dag_id=)")
    if not isinstance(key, str):
        raise ValueError("an xcom_pull in a template whose key= is not a string")
    many = isinstance(ids, list | tuple)
    listed = tuple(ids) if many else (ids,)
    if not listed or not all(isinstance(t, str) and re.fullmatch(r"[\w.-]+", t) for t in listed):
        raise ValueError("an xcom_pull in a template whose task_ids are not literal task ids")
    return listed, many, None if key == "return_value" else key


def jinja_pulls(
    text: str, *, legacy: bool = False, dag_id: str | None = None, quote: str = '"'
) -> tuple[str, list[Pull]]:
    """A template with each ``ti.xcom_pull(...)`` of literal arguments made a variable
    (``xcom_a[_k]``; ``xcom_a_b`` for ``task_ids=["a", "b"]``), and the pulls.

    ``text`` is a string literal's source (``quote``: its quote character). A list pull is
    Airflow 3's list (None for a task without a value); Airflow 2 (``legacy``) lists only the
    tasks with a value and renders the list as ``LazySelectSequence([n items])``, so there
    it converts only indexed (``...)[0]``), as ``(xcom_a_b | reject("none") | list)``.

    Raises ValueError when a pull of another form remains (an expression, key=None, a push).
    """
    pulls: list[Pull] = []
    other = "'" if quote.endswith('"') else '"'

    def sub(match: re.Match[str]) -> str:
        args = match.group(1)
        if "\\" in args:  # quotes escaped in the literal's source: the template's own
            args = args.replace('\\"', '"').replace("\\'", "'")
        ids, many, key = _pull_arguments(args, dag_id)
        pull = Pull(ids, many, key, None)
        pulls.append(pull)
        name = template_name(pull)
        if not (many and legacy):
            return name
        if not text[match.end() :].lstrip().startswith("["):
            raise ValueError(
                "a list xcom_pull rendered whole in a template (Airflow 2 renders "
                "LazySelectSequence([n items]))"
            )
        return f"({name} | reject({other}none{other}) | list)"

    out = _JINJA_PULL.sub(sub, text)
    if "xcom_push" in out:
        raise ValueError("an xcom_push in a template")
    if "xcom_pull" in out:
        raise ValueError("an xcom_pull in a template that is not a pull of literal arguments")
    return out, list(dict.fromkeys(pulls))
