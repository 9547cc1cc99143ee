"""BashOperator -> a ``_dagshift_bash`` task that renders the command and env like Airflow.

``bash_command`` must be a string literal (or adjacent literals) that does not name a
``.sh``/``.bash`` template file. ``{{ ti.xcom_pull(task_ids='a') }}`` in the command or env
becomes ``{{ xcom_a }}`` (with ``key='k'``: ``{{ xcom_a_k }}``), a template variable fed by
task ``a``'s result (see ``xcom.py``).
``BashOperator.partial(...).expand(bash_command=[...])`` becomes ``.expand(command=[...])``.
"""

from __future__ import annotations

import libcst as cst

from dagshift.converter.model import Unsupported, kwarg
from dagshift.converter.rules.xcom import Pull, jinja_pulls

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
            return updated.with_changes(value=text)

    return node.visit(_T())  # type: ignore[return-value]


def bash_arguments(call: cst.Call, rest: dict[str, cst.Arg]) -> tuple[list[cst.Arg], list[str]]:
    """Call arguments for ``_dagshift_bash`` and the task ids pulled in its templates."""
    arg = rest.get("bash_command")
    command = arg.value if arg else None
    if not isinstance(command, cst.SimpleString | cst.ConcatenatedString):
        raise Unsupported(call, "DS035", "bash_command is not a plain string literal")
    text = command.evaluated_value
    if not isinstance(text, str) or text.rstrip().endswith((".sh", ".bash")):
        raise Unsupported(call, "DS036", "bash_command names a script template file")
    ids: list[Pull] = []
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
        text = el.value.evaluated_value
        if not isinstance(text, str) or text.rstrip().endswith((".sh", ".bash")):
            raise Unsupported(call, "DS036", "a mapped bash_command names a script file")
        if jinja_pulls(text)[1]:
            raise Unsupported(call, "DS075", "an XCom pull in a mapped bash_command")
    return value
