"""Jinja over ``template_fields``, as Airflow renders them.

Each DAG has one Jinja environment like Airflow's: StrictUndefined (or the DAG's
``template_undefined``), the ``do`` extension, a loader over the DAG file's folder and
``template_searchpath``, the filters ``ds``, ``ds_nodash``, ``ts``, ``ts_nodash``,
``ts_nodash_with_tz``, the DAG's ``user_defined_macros`` / ``user_defined_filters``, and a
native environment when ``render_template_as_native_obj`` is set. A string field ending with
one of the operator's ``template_ext`` is the name of a template file. Values that came from
other tasks (XComArgs) are substituted and not rendered again, as in Airflow.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import jinja2
import jinja2.nativetypes
import jinja2.sandbox

__all__ = ["make_environment", "render_value"]

_MARKERS = ("{{", "{%", "{#")


def _filters() -> dict[str, Callable[..., Any]]:
    return {
        "ds": lambda value: value.strftime("%Y-%m-%d"),
        "ds_nodash": lambda value: value.strftime("%Y%m%d"),
        "ts": lambda value: value.isoformat(),
        "ts_nodash": lambda value: value.strftime("%Y%m%dT%H%M%S"),
        "ts_nodash_with_tz": lambda value: value.isoformat().replace("-", "").replace(":", ""),
    }


class _NativeSandbox(jinja2.sandbox.SandboxedEnvironment):
    concat = staticmethod(jinja2.nativetypes.native_concat)
    code_generator_class = jinja2.nativetypes.NativeCodeGenerator


def make_environment(
    searchpath: list[str],
    *,
    native: bool = False,
    undefined: type | None = None,
    macros: dict[str, Any] | None = None,
    filters: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
) -> jinja2.Environment:
    """A Jinja environment configured like an Airflow DAG's."""
    kwargs: dict[str, Any] = {
        "loader": jinja2.FileSystemLoader(searchpath),
        "undefined": undefined or jinja2.StrictUndefined,
        "extensions": ["jinja2.ext.do"],
        "cache_size": 0,
    }
    kwargs.update(options or {})
    if native:
        env: jinja2.Environment = _NativeSandbox(**kwargs)
        env.template_class = jinja2.nativetypes.NativeTemplate
    else:
        env = jinja2.sandbox.SandboxedEnvironment(**kwargs)
    env.filters.update(_filters())
    env.filters.update(filters or {})
    env.globals.update(macros or {})
    env.dagshift_native = native  # type: ignore[attr-defined]
    env.dagshift_cache = {}  # type: ignore[attr-defined]
    env.dagshift_lock = threading.Lock()  # type: ignore[attr-defined]
    return env


def _template(env: jinja2.Environment, source: str) -> jinja2.Template:
    # Compiling is the slow part; a compiled template renders the same for every run.
    cache = env.dagshift_cache  # type: ignore[attr-defined]
    template = cache.get(source)
    if template is None:
        with env.dagshift_lock:  # type: ignore[attr-defined]
            template = env.from_string(source)
            cache[source] = template
    return template


def _plain(source: str) -> str:
    """What Jinja makes of a string without template syntax: one trailing newline dropped,
    line endings normalized (Jinja's default ``keep_trailing_newline=False``)."""
    if "\r" in source:
        source = source.replace("\r\n", "\n").replace("\r", "\n")
    return source[:-1] if source.endswith("\n") else source


def render_string(
    source: str, context: dict[str, Any], env: jinja2.Environment, exts: tuple[str, ...]
) -> Any:
    if exts and source.endswith(exts):
        return env.get_template(source).render(**context)
    if not env.dagshift_native and not any(m in source for m in _MARKERS):  # type: ignore
        return _plain(source)
    return _template(env, source).render(**context)


def render_value(
    value: Any,
    context: dict[str, Any],
    env: jinja2.Environment,
    exts: tuple[str, ...] = (),
    resolve: Callable[[Any], Any] | None = None,
    seen: set[int] | None = None,
) -> Any:
    """``value`` with every string rendered, recursing into containers and into objects that
    have ``template_fields``; ``resolve`` turns a placeholder (XComArg) into its value or
    returns it unchanged."""
    if resolve is not None:
        resolved = resolve(value)
        if resolved is not value:
            return resolved
    if isinstance(value, str):
        return render_string(value, context, env, exts)
    if isinstance(value, list):
        return [render_value(v, context, env, exts, resolve, seen) for v in value]
    if isinstance(value, tuple):
        items = [render_value(v, context, env, exts, resolve, seen) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if isinstance(value, dict):
        return {k: render_value(v, context, env, exts, resolve, seen) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return type(value)(render_value(v, context, env, exts, resolve, seen) for v in value)
    fields = getattr(type(value), "template_fields", None)
    if fields and not isinstance(value, type) and not callable(value):
        seen = seen if seen is not None else set()
        if id(value) in seen:
            return value
        seen.add(id(value))
        for name in fields:
            current = getattr(value, name, None)
            setattr(value, name, render_value(current, context, env, exts, resolve, seen))
    return value
