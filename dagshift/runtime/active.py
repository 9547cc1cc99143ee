"""What is being defined right now: the flow whose ``with`` block is open, and the collectors
that gather every flow a file defines while it loads.

Kept apart from :mod:`dagshift.runtime.flow` so that tasks (which join the open flow when
called) and the flow (which is made of tasks) do not import each other.
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dagshift.runtime.flow import Flow

__all__ = ["current_flow"]

_active: contextvars.ContextVar[Flow | None] = contextvars.ContextVar("dagshift_flow", default=None)
_collectors: contextvars.ContextVar[tuple[list[Flow], ...]] = contextvars.ContextVar(
    "dagshift_flow_collectors", default=()
)


def current_flow() -> Flow | None:
    """The flow whose ``with`` block is open, if any."""
    return _active.get()
