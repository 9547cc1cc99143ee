"""Retry policies (Airflow 3.3): ``airflow.sdk``'s classes -> ``dagshift.runtime.retry_policy``.

``ExceptionRetryPolicy``, ``RetryRule``, ``RetryAction``, ``RetryDecision`` and ``RetryPolicy``
(a base for one's own) have the same names, arguments and meaning there; ``retry_policy=`` of
an operator or ``@task`` keeps its name (the task option, runtime/retry_policy.py).
"""

from __future__ import annotations

__all__ = ["DESCRIPTION", "NAMES", "replacement"]

DESCRIPTION = "ExceptionRetryPolicy, RetryRule, RetryAction ... -> dagshift.runtime.retry_policy"

_MODULE = "dagshift.runtime.retry_policy"
_CLASSES = ("ExceptionRetryPolicy", "RetryAction", "RetryDecision", "RetryPolicy", "RetryRule")

NAMES: dict[str, tuple[str, str]] = {
    f"{base}.{name}": (f"{_MODULE}.{name}", _MODULE)
    for base in ("airflow.sdk", "airflow.sdk.definitions.retry_policy")
    for name in _CLASSES
}


def replacement(full: str | None) -> tuple[str, str] | None:
    """(dagshift expression, module to import) for an Airflow retry-policy name, else None."""
    return NAMES.get(full) if full else None
