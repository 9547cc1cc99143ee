"""Scheduling on data and on timetables -> the runtime's own assets, conditions and timetables.

Airflow's scheduling names become the runtime's classes of the same meaning, wherever converted
code uses them (``schedule=``, a task's ``outlets=``, module-level asset definitions):

- Airflow 3's ``Asset``, ``AssetAlias``, ``AssetAll``, ``AssetAny`` (and ``|`` / ``&`` between
  them, which the runtime's classes define the same way), ``AssetOrTimeSchedule`` ->
  ``dagshift.Asset`` ...; Airflow 2's ``Dataset``, ``DatasetAlias``, ``DatasetAll``,
  ``DatasetAny``, ``DatasetOrTimeSchedule`` -> ``dagshift.Dataset`` ..., which check and
  normalize a URI with Airflow 2's rules and words (they differ from Airflow 3's);
- the timetables (``CronTriggerTimetable``, ``CronDataIntervalTimetable``, ``DeltaTrigger...``,
  ``DeltaDataInterval...``, ``MultipleCronTriggerTimetable``, ``EventsTimetable``,
  ``ContinuousTimetable``, ``NullTimetable``, ``OnceTimetable``) ->
  ``dagshift.runtime.timetables.<the same name>``, ported from Airflow 3.3 with the same
  arguments (their run dates are pinned against both generations in tests/runtime);
  ``airflow.timetables.base``'s ``Timetable``, ``DataInterval``, ``DagRunInfo`` and
  ``TimeRestriction`` -> the runtime's, which have Airflow's signatures: a ``Timetable``
  subclass written in the DAG file stays as written and schedules on them;
- ``Metadata`` (yielded from a task: Airflow runs a generator task to its end, each yielded
  ``Metadata`` setting its asset's extra, and adding an event through its alias; dagshift's
  tasks do the same) -> ``dagshift.Metadata`` (which takes 2.x's ``target=`` too);
- ``AssetWatcher`` with the standard provider's ``FileDeleteTrigger`` /
  ``DirectoryFileDeleteTrigger`` -> ``dagshift.runtime.assets.<the same name>``: ``serve``
  polls the file and records an event when it appears, as Airflow's triggerer (another
  trigger stays, and so does its DAG);
- a task's ``outlets=`` (an operator's or ``@task``'s) -> the task option ``outlets=``: the
  runtime records one asset event per outlet when the task succeeds, as Airflow does;
  ``inlets=`` -> the task option ``inlets=``, kept with the task (lineage, as in Airflow: it
  changes nothing in a run but what ``inlet_events`` may read);
- the context names a consumer or producer reads: ``outlet_events`` and ``inlet_events``
  (2.10+ and 3: the recorded events of the task's inlets, keyed by them only),
  ``triggering_asset_events`` (3) and ``triggering_dataset_events`` (2.x) -> the run context's
  values of those names.
- a template reading a task's inlet events: ``inlet_events[<index>]`` (and 2.x's
  ``inlet_events['<uri>']``; 3's ``inlet_events.for_asset(uri=...)`` or ``(name=...)`` and
  ``.for_asset_alias(name=...)``), then one event by index and its ``.extra``, or the count
  (``| length``): the run context's ``inlet_events`` renders those as Airflow does (pinned
  against Airflow 3.3 in tests/oracle). Airflow's scheduling classes (``Dataset(...)``,
  ``Asset(...)`` ...) are not in Airflow's template context: a template calling one fails to
  render in Airflow and in dagshift alike ("'Dataset' is undefined"), so it converts as written.

Not converted (the DAG keeps its TODO): the context's ``inlets`` / ``outlets`` (a callable
reading them stays), other reads of asset events in a template (an event's timestamp, the
triggering events, ``outlet_events``, 2.x's string key in an Airflow 3 file), other triggers,
``@asset``, partitioned assets, a user's ``Timetable`` subclass imported from an Airflow
plugin path.
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from dagshift.converter.model import Unsupported

__all__ = [
    "CONTEXT_3",
    "CONTEXT_LEGACY",
    "NAMES",
    "TASK_ARGUMENTS",
    "TEMPLATE_UNDEFINED",
    "check_task_argument",
    "replacement",
    "template_event_reads",
]

DESCRIPTION = (
    "Asset/Dataset, AssetAll/Any, AssetOrTimeSchedule, timetables, Metadata, outlets=, "
    "triggering_asset_events, outlet_events, inlet_events -> the runtime's"
)

_TIMETABLES = "dagshift.runtime.timetables"
_ASSETS = "dagshift.runtime.assets"
_ASSETS_3 = ("Asset", "AssetAlias", "AssetAll", "AssetAny")
_DATASETS = ("Dataset", "DatasetAlias", "DatasetAll", "DatasetAny")
# airflow.timetables.base: the protocol's types, which the runtime's timetables share
_TIMETABLE_BASE = ("DagRunInfo", "DataInterval", "TimeRestriction", "Timetable")
_TIMETABLE_CLASSES = {
    "interval": ("CronDataIntervalTimetable", "DeltaDataIntervalTimetable"),
    "trigger": ("CronTriggerTimetable", "DeltaTriggerTimetable", "MultipleCronTriggerTimetable"),
    "events": ("EventsTimetable",),
    "simple": ("ContinuousTimetable", "NullTimetable", "OnceTimetable"),
}


def _names() -> dict[str, tuple[str, str]]:
    """Airflow's qualified name -> (the dagshift expression, the module it needs)."""
    out: dict[str, tuple[str, str]] = {}
    for base in ("airflow.sdk", "airflow.sdk.definitions.asset"):
        out.update({f"{base}.{n}": (f"dagshift.{n}", "dagshift") for n in _ASSETS_3})
    out.update({f"airflow.datasets.{n}": (f"dagshift.{n}", "dagshift") for n in _DATASETS})
    for path in ("airflow.sdk", "airflow.timetables.assets", "airflow.sdk.definitions.timetables"):
        out[f"{path}.AssetOrTimeSchedule"] = ("dagshift.AssetOrTimeSchedule", "dagshift")
    out["airflow.sdk.definitions.timetables.assets.AssetOrTimeSchedule"] = out[
        "airflow.sdk.AssetOrTimeSchedule"
    ]
    for path in ("airflow.sdk", "airflow.sdk.definitions.asset"):
        out[f"{path}.AssetWatcher"] = (f"{_ASSETS}.AssetWatcher", _ASSETS)
    for name in ("FileDeleteTrigger", "DirectoryFileDeleteTrigger"):
        out[f"airflow.providers.standard.triggers.file.{name}"] = (f"{_ASSETS}.{name}", _ASSETS)
    for path in (
        "airflow.sdk",
        "airflow.sdk.definitions.asset.metadata",
        "airflow.datasets.metadata",
    ):
        out[f"{path}.Metadata"] = ("dagshift.Metadata", "dagshift")
    out["airflow.timetables.datasets.DatasetOrTimeSchedule"] = (
        "dagshift.DatasetOrTimeSchedule",
        "dagshift",
    )
    for name in _TIMETABLE_BASE:  # a Timetable subclass of the file runs as written on them
        out[f"airflow.timetables.base.{name}"] = (f"{_TIMETABLES}.{name}", _TIMETABLES)
    for module, classes in _TIMETABLE_CLASSES.items():
        for name in classes:
            new = (f"{_TIMETABLES}.{name}", _TIMETABLES)
            out[f"airflow.timetables.{module}.{name}"] = new
            out[f"airflow.sdk.definitions.timetables.{module}.{name}"] = new
            if module != "simple":  # airflow.sdk exports the timetables but the simple ones
                out[f"airflow.sdk.{name}"] = new
    return out


NAMES: dict[str, tuple[str, str]] = _names()

# Task arguments that carry over under the same name (an operator's and @task's)
TASK_ARGUMENTS = {"outlets", "inlets"}

# Context name -> the run context's key, per the file's Airflow generation
CONTEXT_3 = {
    "outlet_events": "outlet_events",
    "inlet_events": "inlet_events",
    "triggering_asset_events": "triggering_asset_events",
}
CONTEXT_LEGACY = {
    "outlet_events": "outlet_events",
    "inlet_events": "inlet_events",
    "triggering_dataset_events": "triggering_dataset_events",
}


# Airflow's scheduling classes by their plain name: undefined in a template in Airflow (its
# template context has only the context's keys and Jinja's globals) and in dagshift.
TEMPLATE_UNDEFINED = frozenset(full.rsplit(".", 1)[1] for full in NAMES)

# inlet_events' methods in an Airflow 3 template: method -> the one keyword it may take
_INLET_METHODS = {"for_asset": ("uri", "name"), "for_asset_alias": ("name",)}


def _const(node: Any, kinds: tuple[type, ...]) -> bool:
    """Whether a Jinja node is a literal of one of ``kinds`` (``-1`` too)."""
    import jinja2.nodes

    if isinstance(node, jinja2.nodes.Neg):
        node = node.node
    return isinstance(node, jinja2.nodes.Const) and type(node.value) in kinds


def _accessor(name: Any, parents: dict[int, Any], legacy: bool) -> Any:
    """The node selecting one inlet's events from ``inlet_events`` (``name``), else None."""
    import jinja2.nodes

    up = parents.get(id(name))
    keys = (int, str) if legacy else (int,)  # Airflow 3 takes no URI string as a key
    if isinstance(up, jinja2.nodes.Getitem) and up.node is name:
        return up if _const(up.arg, keys) else None
    if legacy or not (isinstance(up, jinja2.nodes.Getattr) and up.attr in _INLET_METHODS):
        return None
    call = parents.get(id(up))
    if not isinstance(call, jinja2.nodes.Call) or call.node is not up:
        return None
    if call.args or call.dyn_args or call.dyn_kwargs or len(call.kwargs) != 1:
        return None  # for_asset(name=, uri=) matches both in Airflow, either in dagshift
    (kw,) = call.kwargs
    return call if kw.key in _INLET_METHODS[up.attr] and _const(kw.value, (str,)) else None


def _read_of_events(events: Any, parents: dict[int, Any]) -> bool:
    """Whether a list of events is read as the runtime gives it like Airflow: its count, or one
    event's ``extra`` (a dict, the same)."""
    import jinja2.nodes

    up = parents.get(id(events))
    if isinstance(up, jinja2.nodes.Filter) and up.node is events:
        return up.name == "length" and not (up.args or up.kwargs)
    if not (isinstance(up, jinja2.nodes.Getitem) and up.node is events and _const(up.arg, (int,))):
        return False
    attr = parents.get(id(up))
    return isinstance(attr, jinja2.nodes.Getattr) and attr.node is up and attr.attr == "extra"


def template_event_reads(tree: Any, legacy: bool) -> bool:
    """Whether the template reads ``inlet_events`` in a way dagshift does not render as Airflow
    does (False when every read is one of the forms in this module's docstring)."""
    import jinja2.nodes

    parents: dict[int, Any] = {}
    names: list[Any] = []
    pending = [tree]
    while pending:
        node = pending.pop()
        for child in node.iter_child_nodes():
            parents[id(child)] = node
            pending.append(child)
        if isinstance(node, jinja2.nodes.Name) and node.name == "inlet_events":
            names.append(node)
    for name in names:
        up = parents.get(id(name))
        if isinstance(up, jinja2.nodes.Getitem) and _undefined_call(up.arg):
            continue  # inlet_events[Dataset(...)]: the key fails to render first, as in Airflow
        events = _accessor(name, parents, legacy)
        if events is None or not _read_of_events(events, parents):
            return True
    return False


def _undefined_call(node: Any) -> bool:
    """``Dataset(...)``, ``Asset(...)`` ...: a call of a name a template does not have."""
    import jinja2.nodes

    return (
        isinstance(node, jinja2.nodes.Call)
        and isinstance(node.node, jinja2.nodes.Name)
        and node.node.name in TEMPLATE_UNDEFINED
    )


def replacement(full: str | None) -> tuple[str, str] | None:
    """(dagshift expression, module to import) for an Airflow scheduling name, else None."""
    return NAMES.get(full) if full else None


def check_task_argument(name: str, value: cst.BaseExpression, at: cst.CSTNode) -> None:
    """Unsupported for ``outlets=`` / ``inlets=`` holding a literal (a URI string, a number):
    Airflow takes other lineage objects there and ignores them for assets; dagshift's tasks take
    assets only. What else the list holds is checked where the names are (an Airflow name that
    stays keeps the DAG)."""
    if name not in TASK_ARGUMENTS:
        return
    elements = value.elements if isinstance(value, cst.List | cst.Tuple | cst.Set) else [value]
    for el in elements:
        item = el.value if isinstance(el, cst.BaseElement) else el
        if isinstance(item, cst.BaseString | cst.Integer | cst.Float | cst.Dict):
            raise Unsupported(at, "DS011", f"{name}= holds a value that is not an asset")
