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

Not converted (the DAG keeps its TODO): the context's ``inlets`` / ``outlets`` (a callable
reading them stays), other triggers, ``@asset``,
partitioned assets, a user's ``Timetable`` subclass imported from an Airflow plugin path.
"""

from __future__ import annotations

import libcst as cst

from dagshift.converter.model import Unsupported

__all__ = [
    "CONTEXT_3",
    "CONTEXT_LEGACY",
    "NAMES",
    "TASK_ARGUMENTS",
    "check_task_argument",
    "replacement",
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
