"""Human-in-the-loop operators: the ones that can finish without a person, and a clear refusal
for the others.

Airflow's HITL operators write a request that a person answers in Airflow's UI; dagshift has no
such UI. One that has ``defaults`` and a ``response_timeout`` finishes without anyone: when the
timeout passes, Airflow takes the defaults (``HITLTrigger``'s timeout fallback), and so does
dagshift, returning Airflow's payload (``chosen_options``, ``params_input`` with the params'
values, ``responded_at``, ``responded_by_user`` None). ``HITLBranchOperator`` then follows the
chosen options (mapped through ``options_mapping``) as a branch; an ``ApprovalOperator`` whose
default is "Approve" goes on, one that rejects fails with ``fail_on_reject``. Every other one
would wait for an answer forever, so it fails when the DAG file loads, naming the file, the line,
the operator and what to do.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pendulum

from dagshift.compat.baseoperator import BaseOperator
from dagshift.compat.exceptions import AirflowException

__all__ = ["ApprovalOperator", "HITLBranchOperator", "HITLEntryOperator", "HITLOperator"]

_PATH = "airflow.providers.standard.operators.hitl"


class HITLOperator(BaseOperator):
    """A request for a person's choice; finishes with its ``defaults`` after
    ``response_timeout`` (see the module)."""

    template_fields = ("subject", "body")

    def __init__(
        self,
        *,
        subject: str,
        options: list[str],
        body: str | None = None,
        defaults: str | list[str] | None = None,
        multiple: bool = False,
        params: dict[str, Any] | None = None,
        notifiers: Any = None,
        assigned_users: Any = None,
        response_timeout: timedelta | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if self.execution_timeout and not response_timeout:
            response_timeout, self.execution_timeout = self.execution_timeout, None
        self.response_timeout = response_timeout
        self.subject = subject
        self.body = body
        self.options = options
        self.defaults = [defaults] if isinstance(defaults, str) else defaults
        self.multiple = multiple
        self.params = dict(params or {})
        self.notifiers = notifiers
        self.assigned_users = assigned_users
        if not self.options:
            raise ValueError('"options" cannot be empty.')
        if "_options" in self.params:
            raise ValueError('"_options" is not allowed in params')
        if self.defaults is not None:
            if not set(self.defaults).issubset(self.options):
                raise ValueError(
                    f'defaults "{self.defaults}" should be a subset of options "{self.options}"'
                )
            if self.multiple is False and len(self.defaults) > 1:
                raise ValueError('More than one defaults given when "multiple" is set to False.')
        if self.defaults is None or self.response_timeout is None:
            raise AirflowException(
                f"{_PATH}.{type(self).__name__}(task_id={self.task_id!r}) waits for a person to "
                "answer in Airflow's UI, and dagshift has no such UI. Give it defaults= and "
                "response_timeout= (dagshift takes the defaults when the timeout passes, as "
                "Airflow does), replace it with a task that reads the decision from a param of "
                "the run (`dagshift run --param`), or keep this DAG in Airflow"
            )

    def _param_values(self) -> dict[str, Any]:
        values = {}
        for key, value in self.params.items():
            values[key] = getattr(value, "value", value)
        return values

    def execute(self, context: dict[str, Any]) -> Any:
        notifiers = self.notifiers if isinstance(self.notifiers, list | tuple) else [self.notifiers]
        for notifier in notifiers:
            if notifier is not None:
                notifier(context)
        time.sleep(_seconds(self.response_timeout))
        print(
            f"[HITL] timeout reached before receiving response, fallback to default {self.defaults}"
        )
        return {
            "chosen_options": list(self.defaults or []),
            "params_input": self._param_values(),
            "responded_at": pendulum.now("UTC"),
            "responded_by_user": None,
        }


def _seconds(value: Any) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value or 0)


class HITLEntryOperator(HITLOperator):
    """A request for input (its params); the only option is "OK"."""

    OK = "OK"

    def __init__(self, **kwargs: Any) -> None:
        if "options" not in kwargs:
            kwargs["options"] = [self.OK]
            kwargs.setdefault("defaults", [self.OK])
        super().__init__(**kwargs)


class ApprovalOperator(HITLOperator):
    """ "Approve" or "Reject" (see the module for what runs without a person)."""

    APPROVE = "Approve"
    REJECT = "Reject"

    def __init__(
        self,
        *,
        ignore_downstream_trigger_rules: bool = False,
        fail_on_reject: bool = False,
        **kwargs: Any,
    ) -> None:
        for arg in ("options", "multiple"):
            if arg in kwargs:
                raise ValueError(f"Passing {arg} to ApprovalOperator is not allowed.")
        self.ignore_downstream_trigger_rules = ignore_downstream_trigger_rules
        self.fail_on_reject = fail_on_reject
        super().__init__(options=[self.APPROVE, self.REJECT], multiple=False, **kwargs)
        if self.defaults == [self.REJECT] and not fail_on_reject:
            raise AirflowException(
                f"{_PATH}.ApprovalOperator(task_id={self.task_id!r}) rejects by default, which "
                "in Airflow skips its downstream tasks while keeping its answer; dagshift cannot "
                "do both yet. Set fail_on_reject=True, make the default 'Approve', or keep this "
                "DAG in Airflow"
            )

    def execute(self, context: dict[str, Any]) -> Any:
        answer = super().execute(context)
        if answer["chosen_options"][0] == self.REJECT:
            raise AirflowException('Receive "Reject"')
        return answer


class HITLBranchOperator(HITLOperator):
    """Follows the chosen options (task ids, or labels mapped to them by ``options_mapping``)."""

    _dagshift_kind = "branch"

    def __init__(self, *, options_mapping: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.options_mapping = options_mapping or {}
        invalid = set(self.options_mapping) - set(self.options)
        if invalid:
            raise ValueError(
                f"`options_mapping` contains keys that are not in `options`: {sorted(invalid)}"
            )
        wrong = {
            k: (v, type(v).__name__)
            for k, v in self.options_mapping.items()
            if not isinstance(v, str)
        }
        if wrong:
            raise ValueError(
                f"`options_mapping` values must be strings (task_ids).\nInvalid entries: {wrong}"
            )

    def execute(self, context: dict[str, Any]) -> Any:
        answer = super().execute(context)
        return [self.options_mapping.get(o, o) for o in answer["chosen_options"]]
