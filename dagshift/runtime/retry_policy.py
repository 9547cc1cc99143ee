"""Retry policies: what a task's failure means, decided from its exception (Airflow 3.3's).

The task option ``retry_policy`` holds a :class:`RetryPolicy`; when a try raises (other than
:class:`~dagshift.runtime.context.FailTask`, which always fails, as ``AirflowFailException``),
its ``evaluate(exception, try_number, max_tries, context)`` returns a :class:`RetryDecision`:
``FAIL`` ends the task failed at once, whatever retries are left; ``RETRY`` retries while the
task's ``retries`` allow, after the decision's ``retry_delay`` when it gives one (exactly that:
no backoff, no ``max_retry_delay``, as Airflow's ``next_retry_datetime`` with
``retry_delay_override``), else the task's usual delay; ``DEFAULT`` is the usual retry logic.
A policy that raises counts as ``DEFAULT``. :class:`ExceptionRetryPolicy` holds
:class:`RetryRule` s tried in order, the first matching one deciding. Same names, arguments
and results as ``airflow.sdk``'s (``airflow/sdk/definitions/retry_policy.py``, 3.3), which
the compat shim serves and the converter rewrites to these.
"""

from __future__ import annotations

import abc
import importlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum
from typing import Any

__all__ = ["ExceptionRetryPolicy", "RetryAction", "RetryDecision", "RetryPolicy", "RetryRule"]

log = logging.getLogger(__name__)


class RetryAction(Enum):
    """What happens after a failure."""

    RETRY = "retry"  # retry, still within the task's retries
    FAIL = "fail"  # fail now, skipping the retries left
    DEFAULT = "default"  # the task's usual retry logic


@dataclass(frozen=True)
class RetryDecision:
    """A policy's answer; ``retry_delay`` None keeps the task's own delay."""

    action: RetryAction = RetryAction.DEFAULT
    retry_delay: timedelta | None = None
    reason: str | None = None

    @classmethod
    def fail(cls, reason: str | None = None) -> RetryDecision:
        return cls(action=RetryAction.FAIL, reason=reason)

    @classmethod
    def retry(cls, delay: timedelta | None = None, reason: str | None = None) -> RetryDecision:
        return cls(action=RetryAction.RETRY, retry_delay=delay, reason=reason)

    @classmethod
    def default(cls) -> RetryDecision:
        return cls(action=RetryAction.DEFAULT)


class RetryPolicy(abc.ABC):
    """Subclass and define :meth:`evaluate` for a policy of your own."""

    @abc.abstractmethod
    def evaluate(
        self,
        exception: BaseException,
        try_number: int,
        max_tries: int,
        context: Any = None,
    ) -> RetryDecision:
        """Decide from the failure (``try_number`` 1-based; ``max_tries``: the retries)."""


def _import(path: str) -> Any:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


@dataclass
class RetryRule:
    """An exception (a class, a dotted path, or a list of them) -> what to do."""

    exception: Any
    action: RetryAction = RetryAction.RETRY
    retry_delay: timedelta | None = None
    reason: str | None = None
    match_subclasses: bool = True
    _resolved: list[type] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for spec in self._specs:
            if isinstance(spec, str) and (not spec or "." not in spec):
                raise ValueError(
                    "RetryRule exception string must be a dotted import path "
                    f"(e.g. 'builtins.ValueError'), got {spec!r}"
                )

    @property
    def _specs(self) -> list[Any]:
        return self.exception if isinstance(self.exception, list) else [self.exception]

    def _classes(self) -> list[type]:
        if self._resolved is None:
            found = []
            for spec in self._specs:
                if isinstance(spec, type):
                    found.append(spec)
                    continue
                try:
                    found.append(_import(spec))
                except (ImportError, AttributeError):  # as Airflow: such a rule never matches
                    log.warning("Could not import exception class %r, it will not match", spec)
            self._resolved = found
        return self._resolved

    def matches(self, exc: BaseException) -> bool:
        classes = self._classes()
        if not classes:
            return False
        if self.match_subclasses:
            return isinstance(exc, tuple(classes))
        return type(exc) in classes


class ExceptionRetryPolicy(RetryPolicy):
    """Rules tried in order; the first that matches decides, else ``default``."""

    def __init__(self, rules: list[RetryRule], default: RetryAction = RetryAction.DEFAULT) -> None:
        self.rules = rules
        self.default = default

    def evaluate(
        self,
        exception: BaseException,
        try_number: int,
        max_tries: int,
        context: Any = None,
    ) -> RetryDecision:
        for rule in self.rules:
            if rule.matches(exception):
                return RetryDecision(
                    action=rule.action,
                    retry_delay=rule.retry_delay,
                    reason=rule.reason or f"Matched rule for {type(exception).__name__}",
                )
        return RetryDecision(action=self.default)


def retry_decision(policy: Any, exc: BaseException, try_number: int, retries: int) -> RetryDecision:
    """The policy's decision for a failed try; DEFAULT without a policy or when it raises."""
    if policy is None:
        return RetryDecision()
    try:
        from dagshift.runtime.context import get_run_context

        return policy.evaluate(
            exception=exc, try_number=try_number, max_tries=retries, context=get_run_context()
        )
    except Exception:
        log.exception("Retry policy evaluation failed, falling back to default behaviour")
        return RetryDecision()
