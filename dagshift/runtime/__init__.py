"""dagshift's functional runtime: tasks, flows, parameters, and the Dask executor."""

from dagshift.runtime.assets import (
    Asset,
    AssetAlias,
    AssetAll,
    AssetAny,
    AssetOrTimeSchedule,
    Dataset,
    DatasetAlias,
    DatasetAll,
    DatasetAny,
    DatasetOrTimeSchedule,
    Metadata,
)
from dagshift.runtime.context import (
    FailTask,
    SkipTask,
    airflow_context,
    get_run_context,
    outlet_events,
    push,
    render,
    shell,
    triggering_asset_events,
)
from dagshift.runtime.executor import FlowRun, FlowRunFailed
from dagshift.runtime.flow import CycleError, Flow, Parameter
from dagshift.runtime.groups import Group, group
from dagshift.runtime.state import TaskRun, TriggerRule
from dagshift.runtime.task import Task, TaskRef, task
from dagshift.runtime.variables import Variable

__all__ = [
    "Asset",
    "AssetAlias",
    "AssetAll",
    "AssetAny",
    "AssetOrTimeSchedule",
    "Dataset",
    "DatasetAlias",
    "DatasetAll",
    "DatasetAny",
    "DatasetOrTimeSchedule",
    "Metadata",
    "CycleError",
    "FailTask",
    "Flow",
    "FlowRun",
    "FlowRunFailed",
    "Group",
    "Parameter",
    "SkipTask",
    "Task",
    "TaskRef",
    "TaskRun",
    "TriggerRule",
    "Variable",
    "airflow_context",
    "get_run_context",
    "group",
    "outlet_events",
    "push",
    "render",
    "shell",
    "task",
    "triggering_asset_events",
]
