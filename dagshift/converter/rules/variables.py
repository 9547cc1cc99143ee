"""Variables: ``Variable.get/set/delete`` -> ``dagshift.Variable``, the same store and meaning.

``dagshift.Variable`` reads ``AIRFLOW_VAR_<KEY>`` first, then the local store the compat shim
uses (``dagshift/runtime/variables.py``), and takes both spellings of the default
(``default_var=``, Airflow 2 and ``airflow.models``; ``default=``, the task SDK). A call is
rewritten only where it means the same in dagshift as in the file's Airflow:

- its arguments fit the real signature of the class it names (``airflow.sdk.Variable.get``
  takes no ``default_var=``, ``airflow.models.Variable.get`` no ``default=``: Airflow fails
  such a call, so it stays as written);
- in an Airflow 3 file, it is not inside a ``try`` that catches ``KeyError`` or
  ``LookupError``: the task SDK raises ``AirflowRuntimeError`` for a missing variable, which
  such a handler does not catch, where dagshift (like Airflow 2) raises ``KeyError``.

Any other use of ``Variable`` (``Variable.setdefault``, the class passed around) stays, so its
DAG does too. ``{{ var.value.KEY }}`` / ``{{ var.json.KEY }}`` in templates need no rewrite:
``render()`` has ``var`` over the same store (see ``context.py``).
"""

from __future__ import annotations

import libcst as cst

from dagshift.converter.names import qualified

__all__ = ["VARIABLES", "catches_key_error", "variable_call"]

DESCRIPTION = "Variable.get/set/delete (default_var/default, deserialize_json) -> dagshift.Variable"

_MODELS = {"airflow.models.Variable", "airflow.models.variable.Variable"}
_SDK = {"airflow.sdk.Variable", "airflow.sdk.definitions.variable.Variable"}
VARIABLES = _MODELS | _SDK

# method -> its parameters, in order, per class (Airflow 3.3's models.Variable.get also takes
# team_name=, which dagshift has no meaning for: such a call stays)
_SIGNATURES = {
    "models": {
        "get": ("key", "default_var", "deserialize_json"),
        "set": ("key", "value", "description", "serialize_json"),
        "delete": ("key",),
    },
    "sdk": {
        "get": ("key", "default", "deserialize_json"),
        "set": ("key", "value", "description", "serialize_json"),
        "delete": ("key",),
    },
}


def _fits(call: cst.Call, params: tuple[str, ...]) -> bool:
    """The arguments bind to ``params`` (no star arguments, no unknown or repeated names)."""
    given: set[str] = set()
    for i, arg in enumerate(call.args):
        if arg.star:
            return False
        name = arg.keyword.value if arg.keyword else (params[i] if i < len(params) else None)
        if name is None or name not in params or name in given:
            return False
        given.add(name)
    return "key" in given


def variable_call(call: cst.Call, names: dict[str, str]) -> bool:
    """``call`` is ``Variable.get/set/delete(...)`` with arguments its class accepts."""
    if not isinstance(call.func, cst.Attribute):
        return False
    owner = qualified(call.func.value, names)
    kind = "models" if owner in _MODELS else "sdk" if owner in _SDK else None
    if kind is None:
        return False
    signature = _SIGNATURES[kind].get(call.func.attr.value)
    return signature is not None and _fits(call, signature)


def catches_key_error(node: cst.Try) -> bool:
    """A handler of ``node`` catches ``KeyError`` (or ``LookupError``) by name."""
    wanted = {"KeyError", "LookupError"}
    for handler in node.handlers:
        kinds = handler.type
        elements = kinds.elements if isinstance(kinds, cst.Tuple) else [kinds]
        for el in elements:
            value = el.value if isinstance(el, cst.Element) else el
            if isinstance(value, cst.Name) and value.value in wanted:
                return True
    return False
