"""Setup/teardown context managers: ``with teardown_task(setup_task()): work()``.

Inside ``with`` a setup or teardown (an operator, its XComArg, or a list of them), the tasks
created become the work that the setup precedes and the teardown follows. The bookkeeping is
Airflow's own, ported in :mod:`dagshift.runtime.setup_teardown_context` (the runtime's
``with setup >> teardown:`` blocks use it too); the shim's operators are the tasks it handles.
"""

from __future__ import annotations

from typing import Any

from dagshift.compat.exceptions import AirflowException
from dagshift.runtime.setup_teardown_context import BaseSetupTeardownContext

__all__ = ["ContextWrapper", "SetupTeardownContext", "enter", "leave"]


class SetupTeardownContext(BaseSetupTeardownContext):
    """Context manager for setup and teardown tasks."""

    @staticmethod
    def add_task(task: Any) -> None:
        """Add task to context manager."""
        if not SetupTeardownContext.active:
            raise AirflowException("Cannot add task to context outside the context manager.")
        task = getattr(task, "operator", task)
        SetupTeardownContext.update_context_map(task)


def enter(operators: Any) -> type[SetupTeardownContext]:
    """``with`` a setup or teardown (one operator, or a list of them)."""
    for op in operators if isinstance(operators, list) else [operators]:
        if not op.is_setup and not op.is_teardown:
            raise AirflowException("Only setup/teardown tasks can be used as context managers.")
    SetupTeardownContext.push_setup_teardown_task(operators)
    return SetupTeardownContext


def leave() -> None:
    SetupTeardownContext.set_work_task_roots_and_leaves()


class ContextWrapper(list):
    """A list of setup or teardown tasks (operators or their XComArgs) usable with ``with``."""

    def __init__(self, tasks: list[Any]) -> None:
        self.tasks = tasks
        super().__init__(tasks)

    def __enter__(self) -> type[SetupTeardownContext]:
        return enter([getattr(t, "operator", t) for t in self.tasks])

    def __exit__(self, *exc: Any) -> None:
        leave()


context_wrapper = ContextWrapper
