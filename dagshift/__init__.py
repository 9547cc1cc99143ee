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

from dagshift.runtime import (
    CycleError,
    FailTask,
    Flow,
    FlowRun,
    FlowRunFailed,
    Parameter,
    SkipTask,
    Task,
    TaskRef,
    TaskRun,
    Variable,
    get_run_context,
    render,
    shell,
    task,
)

__version__ = "0.1.0"

__all__ = [
    "CycleError",
    "FailTask",
    "Flow",
    "FlowRun",
    "FlowRunFailed",
    "Parameter",
    "SkipTask",
    "Task",
    "TaskRef",
    "TaskRun",
    "Variable",
    "get_run_context",
    "render",
    "shell",
    "task",
]
