"""Airflow's assets (3.x) and datasets (2.x) under their Airflow names.

They are the runtime's :mod:`dagshift.runtime.assets` types (``Dataset`` and its kin too, which
check a URI with Airflow 2's words). ``AssetWatcher`` takes only triggers that need no network;
there is none in the shim yet, so any trigger fails at load with a message that says what to do.
"""

from __future__ import annotations

from typing import Any

from dagshift.compat.exceptions import AirflowException
from dagshift.runtime.assets import (
    Asset,
    AssetAlias,
    AssetAll,
    AssetAny,
    Dataset,
    DatasetAlias,
    DatasetAll,
    DatasetAny,
    Metadata,
)

__all__ = [
    "Asset",
    "AssetAlias",
    "AssetAll",
    "AssetAny",
    "AssetWatcher",
    "DirectoryFileDeleteTrigger",
    "FileDeleteTrigger",
    "Dataset",
    "DatasetAlias",
    "DatasetAll",
    "DatasetAny",
    "Metadata",
]


class _PollTrigger:
    """A trigger ``serve`` polls on its own clock; ``poll()`` returns the events' payloads."""

    poke_interval: float = 5.0

    def poll(self) -> list[Any]:
        raise NotImplementedError


class FileDeleteTrigger(_PollTrigger):
    """Fires when ``filepath`` exists, and deletes it (the standard provider's trigger)."""

    def __init__(self, filepath: str, poke_interval: float = 5.0, **_: Any) -> None:
        self.filepath = filepath
        self.poke_interval = poke_interval

    def poll(self) -> list[Any]:
        import os

        try:
            if os.path.isfile(self.filepath):
                os.remove(self.filepath)
                return [True]
        except FileNotFoundError:  # another service took it first
            pass
        return []


class DirectoryFileDeleteTrigger(_PollTrigger):
    """Fires when ``directory/filename`` exists, and deletes it."""

    def __init__(self, *, directory: str, filename: str, poke_interval: float = 5.0) -> None:
        self.directory, self.filename = directory, filename
        self.poke_interval = poke_interval

    def poll(self) -> list[Any]:
        import os

        path = os.path.join(self.directory, self.filename)
        return [{"filepath": path}] if FileDeleteTrigger(path).poll() else []


class AssetWatcher:
    """``AssetWatcher(name, trigger)``: ``serve`` records an event of the asset each time the
    trigger fires (extra ``{"from_trigger": True, "payload": ...}``, as Airflow's triggerer).

    Only triggers that need no network run here (``FileDeleteTrigger``,
    ``DirectoryFileDeleteTrigger``); any other fails at load, saying what to do.
    """

    def __init__(self, name: str, trigger: Any) -> None:
        if not isinstance(trigger, _PollTrigger):
            raise AirflowException(
                f"AssetWatcher {name!r}: dagshift cannot run the trigger "
                f"{type(trigger).__name__} (it watches only files: FileDeleteTrigger, "
                "DirectoryFileDeleteTrigger). Schedule the consumer on the asset alone and record "
                "its events from the task that updates it (outlets=[...])"
            )
        self.name = name
        self.trigger = trigger

    def poll(self) -> list[dict[str, Any]]:
        """The extras of the events the trigger fired since the last poll."""
        return [{"from_trigger": True, "payload": p} for p in self.trigger.poll()]


def scheduling_context(task: Any, current: Any, generation: str) -> dict[str, Any]:
    """The context names of assets: ``inlets``/``outlets``, ``outlet_events``, and the events
    that started the run (``triggering_asset_events``; 2.x ``triggering_dataset_events``)."""
    from dagshift.runtime.assets import (
        INLET_EVENTS_KEY,
        OUTLET_EVENTS_KEY,
        TRIGGERING_EVENTS_KEY,
        InletEventsAccessors,
        OutletEventAccessors,
        TriggeringAssetEvents,
    )

    events = TriggeringAssetEvents(current.run.extra.get(TRIGGERING_EVENTS_KEY, ()))
    pushed = current.pushed if current.pushed is not None else {}
    inlets = list(getattr(task, "inlets", None) or [])
    out: dict[str, Any] = {
        "inlets": inlets,
        "outlets": list(getattr(task, "outlets", None) or []),
        "outlet_events": pushed.setdefault(OUTLET_EVENTS_KEY, OutletEventAccessors()),
        "inlet_events": InletEventsAccessors(inlets, current.run.extra.get(INLET_EVENTS_KEY)),
    }
    if generation == "3":
        out["triggering_asset_events"] = events
    else:
        out["triggering_dataset_events"] = events
    return out
