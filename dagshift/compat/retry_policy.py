"""``airflow.sdk``'s retry policies (Airflow 3.3): the runtime's own, same names and meaning."""

from dagshift.runtime.retry_policy import (
    ExceptionRetryPolicy,
    RetryAction,
    RetryDecision,
    RetryPolicy,
    RetryRule,
)

__all__ = ["ExceptionRetryPolicy", "RetryAction", "RetryDecision", "RetryPolicy", "RetryRule"]
