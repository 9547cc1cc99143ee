"""BashOperator -> a ``_dagshift_bash`` task that renders the command and env like Airflow.

``bash_command`` must be a string literal (or adjacent literals) that does not name a
``.sh``/``.bash`` template file. ``{{ ti.xcom_pull(task_ids='a') }}`` in the command or env
becomes ``{{ xcom_a }}`` (with ``key='k'``: ``{{ xcom_a_k }}``), a template variable fed by
task ``a``'s result (see ``xcom.py``).
``BashOperator.partial(...).expand(bash_command=[...])`` becomes ``.expand(command=[...])``.
"""

from __future__ import annotations

import textwrap

import libcst as cst
import libcst.matchers as m

from dagshift.converter.model import Unsupported, evaluated, kwarg
from dagshift.converter.rules.context import check_template
from dagshift.converter.rules.xcom import Pull, jinja_pulls
from dagshift.converter.walk import walk

__all__ = ["HELPER", "bash_arguments", "mapped_commands"]

DESCRIPTION = "BashOperator -> _dagshift_bash task (Jinja in bash_command and env, XCom pulls)"

HELPER = """

@task
def _dagshift_bash(command, env=None, **values):
    # bash_command and env are both templated in Airflow's BashOperator
    if env is not None:
        env = {k: render(v, **values) if isinstance(v, str) else v for k, v in env.items()}
    return shell(render(command, **values), env=env)
"""


def _pulls_in(node: cst.BaseExpression, ids: list[Pull]) -> cst.BaseExpression:
    """``node`` with its string literals' template pulls rewritten; ids appended to ``ids``."""

    class _T(cst.CSTTransformer):
        def leave_SimpleString(self, original, updated):
            try:
                text, found = jinja_pulls(updated.value)
            except ValueError as exc:
                raise Unsupported(node, "DS075", str(exc)) from None
            ids.extend(i for i in found if i not in ids)
            new = updated.with_changes(value=text)
            if isinstance(evaluated(new), str):
                check_template(node, evaluated(new), {"xcom_" + p.param_name() for p in ids})
            return new

    return walk(node, _T())  # type: ignore[return-value]


def _named_command(node: cst.BaseExpression, assigned: dict) -> str | None:
    """The text of ``NAME`` assigned once at module level a string or ``dedent(string)``."""
    value = assigned.get(node.value) if isinstance(node, cst.Name) else None
    dedented = False
    if m.matches(
        value, m.Call(func=m.Name("dedent") | m.Attribute(m.Name("textwrap"), m.Name("dedent")))
    ):
        value = value.args[0].value if len(value.args) == 1 else None
        dedented = True
    if not isinstance(value, cst.SimpleString | cst.ConcatenatedString):
        return None
    text = evaluated(value)
    if not isinstance(text, str):
        return None
    return textwrap.dedent(text) if dedented else text


def bash_arguments(
    call: cst.Call, rest: dict[str, cst.Arg], assigned: dict
) -> tuple[list[cst.Arg], list[Pull]]:
    """Call arguments for ``_dagshift_bash`` and the XCom pulls in its templates.

    ``bash_command`` is a string literal, or the name of a module-level string (or
    ``dedent(string)``) without XCom in it (the text is shared: it stays as it is).
    """
    arg = rest.get("bash_command")
    command = arg.value if arg else None
    named = _named_command(command, assigned) if command is not None else None
    if named is not None:
        if named.rstrip().endswith((".sh", ".bash")):
            raise Unsupported(call, "DS036", "bash_command names a script template file")
        if "xcom_" in named:
            raise Unsupported(call, "DS075", "XCom in a bash_command kept in a variable")
        check_template(call, named)
        out = [cst.Arg(command)]
        ids: list[Pull] = []
        if "env" in rest:
            out.append(kwarg("env", _pulls_in(rest["env"].value, ids)))
        return out, ids
    if not isinstance(command, cst.SimpleString | cst.ConcatenatedString):
        raise Unsupported(call, "DS035", "bash_command is not a plain string literal")
    text = evaluated(command)
    if not isinstance(text, str) or text.rstrip().endswith((".sh", ".bash")):
        raise Unsupported(call, "DS036", "bash_command names a script template file")
    ids = []
    out = [cst.Arg(_pulls_in(command, ids))]
    if "env" in rest:
        out.append(kwarg("env", _pulls_in(rest["env"].value, ids)))
    return out, ids


def mapped_commands(call: cst.Call, value: cst.BaseExpression) -> cst.BaseExpression:
    """``BashOperator.partial(...).expand(bash_command=[...])``: the list, when it is literal."""
    if not isinstance(value, cst.List) or not all(
        isinstance(e, cst.Element) and isinstance(e.value, cst.SimpleString) for e in value.elements
    ):
        raise Unsupported(call, "DS090", "expand(bash_command=...) is not a list of strings")
    for el in value.elements:
        text = evaluated(el.value)
        if not isinstance(text, str) or text.rstrip().endswith((".sh", ".bash")):
            raise Unsupported(call, "DS036", "a mapped bash_command names a script file")
        if jinja_pulls(text)[1]:
            raise Unsupported(call, "DS075", "an XCom pull in a mapped bash_command")
    return value
