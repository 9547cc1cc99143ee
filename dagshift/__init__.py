"""dagshift: move Airflow DAGs to functional flows on Dask, without a big-bang rewrite.

Example:
    >>> from dagshift import task, Flow
    >>> @task
    ... def hello(name):
    ...     return f"hello {name}"
    >>> with Flow("greet") as flow:
    ...     hello("world")
    <TaskRef greet.hello>
    >>> flow.run().tasks["hello"].result
    'hello world'
"""

from dagshift.history.trigger import trigger_run
from dagshift.runtime import (
    Asset,
    AssetAlias,
    AssetAll,
    AssetAny,
    AssetOrTimeSchedule,
    CycleError,
    Dataset,
    DatasetAlias,
    DatasetAll,
    DatasetAny,
    DatasetOrTimeSchedule,
    FailTask,
    Flow,
    FlowRun,
    FlowRunFailed,
    Group,
    Metadata,
    Parameter,
    SkipTask,
    Task,
    TaskRef,
    TaskRun,
    TriggerRule,
    Variable,
    airflow_context,
    get_run_context,
    group,
    outlet_events,
    push,
    render,
    shell,
    task,
    triggering_asset_events,
)

__version__ = "0.1.0"

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
    "Metadata",
    "Variable",
    "airflow_context",
    "get_run_context",
    "group",
    "outlet_events",
    "push",
    "render",
    "shell",
    "task",
    "trigger_run",
    "triggering_asset_events",
]
