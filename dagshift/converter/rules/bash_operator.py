"""BashOperator -> a ``_dagshift_bash`` task that renders the command and env like Airflow.

``bash_command`` must be a string literal (or adjacent literals), or an expression whose
string is known statically (``constants.py``: names bound once to literals or to
``textwrap.dedent`` of one, as in Airflow's tutorial; f-strings, ``+`` and ``.format`` of
them, as real files build commands); one naming a ``.sh``/``.bash`` template file leaves the
operator as written (``bash_call.py``). An
expression stays as written: Python computes the same string when the converted file loads,
as when Airflow parsed the original, and ``render()`` renders it as Airflow's Jinja would.
``{{ ti.xcom_pull(task_ids='a') }}`` in the command or env becomes ``{{ xcom_a }}`` (with
``key='k'``: ``{{ xcom_a_k }}``), a template variable fed by task ``a``'s result (see
``xcom.py``).
``BashOperator.partial(...).expand(bash_command=[...])`` becomes ``.expand(command=[...])``;
over TaskFlow results (``lets.map(f)``, see ``taskflow.derived_value``) it becomes
``_dagshift_bash_from_xcom.expand(command=...)``, which renders no command, as Airflow renders
no mapped value that comes from XCom.
A ``bash_command`` that is a TaskFlow result, or a key of a ``multiple_outputs=True`` one,
becomes ``_dagshift_bash_from_xcom(value)`` in an Airflow 3 file (``bash_call.py``): Airflow 3
resolves that XComArg and renders it no further (2.11 fails the task).
In a DAG with ``render_template_as_native_obj=True`` the command and env render natively
(``_dagshift_bash_native``), as Airflow renders every template field of such a DAG.
"""

from __future__ import annotations

import libcst as cst

from dagshift.converter.constants import Constants
from dagshift.converter.model import Unsupported, evaluated, kwarg
from dagshift.converter.rules.context import check_template
from dagshift.converter.rules.xcom import Pull, jinja_pulls, template_name
from dagshift.converter.walk import walk

__all__ = [
    "APPEND_HELPER",
    "HELPER",
    "NATIVE_APPEND_HELPER",
    "NATIVE_HELPER",
    "XCOM_HELPER",
    "bash_arguments",
    "mapped_commands",
]

# Airflow loads a bash_command ending so as a template file; "run.sh " (a space after it) is a
# command (Airflow's documented way to run a script without rendering it)
SCRIPT_EXTENSIONS = (".sh", ".bash")

DESCRIPTION = "BashOperator -> _dagshift_bash task (Jinja in bash_command and env, XCom pulls)"

HELPER = """

@task
def _dagshift_bash(command, env=None, **values):
    # bash_command and env are both templated in Airflow's BashOperator
    if env is not None:
        env = {k: render(v, **values) if isinstance(v, str) else v for k, v in env.items()}
    return shell(render(command, **values), env=env)
"""

APPEND_HELPER = """

@task
def _dagshift_bash_appended(command, env=None, **values):
    # append_env=True: env is added to the worker's environment, not in place of it
    if env is not None:
        env = {k: render(v, **values) if isinstance(v, str) else v for k, v in env.items()}
    return shell(render(command, **values), env=env, append_env=True)
"""

# render_template_as_native_obj=True (the DAG's): Airflow renders bash_command and env with
# Jinja's NativeEnvironment; a value that comes out other than a string fails the task
NATIVE_HELPER = """

@task
def _dagshift_bash_native(command, env=None, **values):
    # render_template_as_native_obj=True: Jinja's NativeEnvironment, as Airflow renders
    if env is not None:
        env = {
            k: render(v, native=True, **values) if isinstance(v, str) else v
            for k, v in env.items()
        }
    return shell(render(command, native=True, **values), env=env)
"""

NATIVE_APPEND_HELPER = """

@task
def _dagshift_bash_native_appended(command, env=None, **values):
    # render_template_as_native_obj=True and append_env=True
    if env is not None:
        env = {
            k: render(v, native=True, **values) if isinstance(v, str) else v
            for k, v in env.items()
        }
    return shell(render(command, native=True, **values), env=env, append_env=True)
"""

# A bash_command mapped over an XCom value (``.expand(bash_command=x.map(f))``): Airflow renders
# the literal arguments of a mapped operator but no value resolved from XCom
# (``expandinput.resolve`` returns their ids as ``seen_oids``), so the command runs as it is.
XCOM_HELPER = """

@task
def _dagshift_bash_from_xcom(command, env=None):
    if env is not None:
        env = {k: render(v) if isinstance(v, str) else v for k, v in env.items()}
    return shell(command, env=env)
"""


def _pulls_in(
    node: cst.BaseExpression, ids: list[Pull], legacy: bool, dag_id: str | None = None
) -> cst.BaseExpression:
    """``node`` with its string literals' template pulls rewritten; ids appended to ``ids``
    (``dag_id``: the DAG's own id, which a pull may name)."""

    class _T(cst.CSTTransformer):
        def visit_ConcatenatedString(self, node: cst.ConcatenatedString) -> bool:
            # "{{ ti.xcom_pull('a')" "['k'] }}": one template across the parts, read whole
            return not _split_template(node)

        def leave_ConcatenatedString(self, original, updated):
            if not _split_template(original):
                return updated
            return self.leave_SimpleString(None, cst.SimpleString(repr(evaluated(original))))

        def leave_SimpleString(self, original, updated):
            try:
                text, found = jinja_pulls(
                    updated.value, legacy=legacy, dag_id=dag_id, quote=updated.quote
                )
            except ValueError as exc:
                raise Unsupported(node, "DS075", str(exc)) from None
            ids.extend(i for i in found if i not in ids)
            new = updated.with_changes(value=text)
            if isinstance(evaluated(new), str):
                extra = {template_name(p) for p in ids}
                check_template(node, evaluated(new), extra, legacy=legacy)
            return new

    return walk(node, _T())  # type: ignore[return-value]


def _split_template(node: cst.ConcatenatedString) -> bool:
    """Whether a Jinja tag opens in one part of the string and closes in another."""
    if not isinstance(evaluated(node), str):
        return False
    parts: list[cst.CSTNode] = []
    pending: list[cst.CSTNode] = [node]
    while pending:
        item = pending.pop()
        if isinstance(item, cst.ConcatenatedString):
            pending += [item.left, item.right]
        else:
            parts.append(item)
    texts = [evaluated(p) for p in parts]
    return any(
        not isinstance(text, str) or text.count(o) != text.count(c)
        for text in texts
        for o, c in (("{{", "}}"), ("{%", "%}"), ("{#", "#}"))
    )


def bash_arguments(
    call: cst.Call,
    rest: dict[str, cst.Arg],
    constants: Constants,
    legacy: bool = False,
    dag_id: str | None = None,
) -> tuple[list[cst.Arg], list[Pull]]:
    """Call arguments for ``_dagshift_bash`` and the XCom pulls in its templates.

    ``legacy``: the file is written for Airflow 1.10/2.x (its templates have more names).

    ``bash_command`` is a string literal, or an expression whose string ``constants.py`` knows
    (names bound once, f-strings, ``+``, ``.format``) without XCom in it: the expression stays
    as it is (the user's code), its text is checked as a literal's would be.
    """
    arg = rest.get("bash_command")
    command = arg.value if arg else None
    literal = isinstance(command, cst.SimpleString | cst.ConcatenatedString) and isinstance(
        evaluated(command), str
    )
    named = None if literal or command is None else constants.value(command)
    if isinstance(named, str):
        if "xcom_" in named:
            raise Unsupported(call, "DS075", "XCom in a bash_command built in code")
        check_template(call, named, legacy=legacy)
        out = [cst.Arg(command)]
        ids: list[Pull] = []
        if "env" in rest:
            out.append(kwarg("env", _pulls_in(rest["env"].value, ids, legacy, dag_id)))
        return out, ids
    if not literal:
        raise Unsupported(
            call,
            "DS035",
            "bash_command is not a string known statically (literals, names bound once to "
            "them, f-strings, + and .format of those)",
        )
    ids = []
    out = [cst.Arg(_pulls_in(command, ids, legacy, dag_id))]
    if "env" in rest:
        out.append(kwarg("env", _pulls_in(rest["env"].value, ids, legacy, dag_id)))
    return out, ids


def mapped_commands(call: cst.Call, value: cst.BaseExpression) -> cst.BaseExpression:
    """``BashOperator.partial(...).expand(bash_command=[...])``: the list, when it is literal."""
    if not isinstance(value, cst.List) or not all(
        isinstance(e, cst.Element) and isinstance(e.value, cst.SimpleString) for e in value.elements
    ):
        raise Unsupported(call, "DS090", "expand(bash_command=...) is not a list of strings")
    for el in value.elements:
        text = evaluated(el.value)
        if not isinstance(text, str) or text.endswith(SCRIPT_EXTENSIONS):
            raise Unsupported(call, "DS036", "a mapped bash_command names a script file")
        if jinja_pulls(text)[1]:
            raise Unsupported(call, "DS075", "an XCom pull in a mapped bash_command")
    return value
