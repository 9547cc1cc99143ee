"""Airflow's exception classes, wired to the runtime's meaning of skip and fail.

``AirflowSkipException`` is the runtime's :class:`SkipTask` and ``AirflowFailException`` its
:class:`FailTask` (fail now, no retries), so raising either in a task does what it does in
Airflow without the executor knowing anything about Airflow.
"""

from __future__ import annotations

from dagshift.runtime.context import FailTask, SkipTask

__all__ = [
    "AirflowConfigException",
    "AirflowException",
    "AirflowFailException",
    "AirflowNotFoundException",
    "AirflowSensorTimeout",
    "AirflowSkipException",
    "AirflowTaskTimeout",
    "DuplicateTaskIdFound",
    "ParamValidationError",
]


class AirflowException(Exception):
    """Base class of Airflow's exceptions."""


class AirflowSkipException(AirflowException, SkipTask):
    """Raised in a task to mark it skipped."""


class AirflowFailException(AirflowException, FailTask):
    """Raised in a task to fail it at once, without retries."""


class AirflowSensorTimeout(AirflowFailException):
    """A sensor waited longer than its timeout (fails without retries, as in Airflow)."""


class AirflowTaskTimeout(AirflowException):
    """A task ran longer than its execution_timeout."""


class AirflowNotFoundException(AirflowException):
    """A variable, connection or other named object does not exist."""


class DuplicateTaskIdFound(AirflowException):
    """Two tasks of one DAG have the same id."""


class AirflowDagCycleException(AirflowException):
    """The DAG's dependencies form a cycle."""


class ParamValidationError(AirflowException, ValueError):
    """A param's value does not fit its declaration. Also a ``ValueError``: a run refused for
    its params is reported by ``dagshift run``, ``serve`` and ``--verify`` as any run with a bad
    parameter is (no task starts)."""


class TaskDeferred(AirflowException):
    """Deferral to a trigger: dagshift has no triggerer; see the error message."""


class AirflowConfigException(AirflowException):
    """An option is missing or has a value of the wrong type."""
