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
    DirectoryFileDeleteTrigger,
    FileDeleteTrigger,
    Metadata,
)
from dagshift.runtime.assets import AssetWatcher as _AssetWatcher

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


class AssetWatcher(_AssetWatcher):
    __doc__ = _AssetWatcher.__doc__

    def __init__(self, name: str, trigger: Any) -> None:
        try:
            super().__init__(name, trigger)
        except TypeError as exc:  # Airflow's exception type, for code that catches it
            raise AirflowException(str(exc)) from None


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
        from dagshift.compat.asset_state import AssetStateStoreAccessors, has_assets

        if has_assets(inlets, out["outlets"]):  # Airflow 3.3's asset state store
            history = current.run.extra.get("dagshift.history")
            out["asset_state_store"] = AssetStateStoreAccessors(inlets, out["outlets"], history)
    else:
        out["triggering_dataset_events"] = events
    return out
