"""``context["asset_state_store"]`` (Airflow 3.3): values kept per asset across runs.

As Airflow's ``AssetStateStoreAccessors``: a task whose inlets or outlets include assets gets
one accessor per asset (by name; alias outlets are skipped, alias inlets are not resolved
here), ``store[asset].get(key, default)`` / ``.set(key, value)`` (``None`` refused) /
``.delete(key)`` / ``.clear()``, and for a task with exactly one asset the same methods on the
store itself. A recorded run keeps the values in its history database (every process on it sees
them); a run with no history keeps them in this process.
"""

from __future__ import annotations

from typing import Any

from dagshift.runtime.assets import Asset

__all__ = ["AssetStateStoreAccessor", "AssetStateStoreAccessors", "has_assets"]

_IN_PROCESS: dict[tuple[str, str], Any] = {}


class AssetStateStoreAccessor:
    """The kept values of one asset."""

    def __init__(self, name: str, history: str | None = None) -> None:
        self._name = name
        self._history = history

    def __repr__(self) -> str:
        return f"<AssetStateStoreAccessor name={self._name!r}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AssetStateStoreAccessor) and other._name == self._name

    def __hash__(self) -> int:
        return hash(self._name)

    def get(self, key: str, default: Any = None) -> Any:
        """The value kept under ``key``, or ``default``."""
        if self._history is None:
            return _IN_PROCESS.get((self._name, key), default)
        from dagshift.history.asset_state import state_get

        return state_get(self._history, self._name, key, default)

    def set(self, key: str, value: Any) -> None:
        """Keep ``value`` (JSON-able, not None) under ``key``."""
        if value is None:
            raise ValueError("Cannot set value as None")
        if self._history is None:
            _IN_PROCESS[(self._name, key)] = value
            return
        from dagshift.history.asset_state import state_set

        state_set(self._history, self._name, key, value)

    def delete(self, key: str) -> None:
        """Forget ``key`` (nothing happens when it is not kept)."""
        if self._history is None:
            _IN_PROCESS.pop((self._name, key), None)
            return
        from dagshift.history.asset_state import state_delete

        state_delete(self._history, self._name, key)

    def clear(self) -> None:
        """Forget every key of the asset."""
        if self._history is None:
            for kept in [k for k in _IN_PROCESS if k[0] == self._name]:
                del _IN_PROCESS[kept]
            return
        from dagshift.history.asset_state import state_clear

        state_clear(self._history, self._name)


class AssetStateStoreAccessors:
    """``context["asset_state_store"]``: an accessor per asset of the task's inlets/outlets."""

    def __init__(self, inlets: list, outlets: list, history: str | None = None) -> None:
        self._by_name: dict[str, AssetStateStoreAccessor] = {}
        for asset in [*inlets, *outlets]:
            if isinstance(asset, Asset) and asset.name not in self._by_name:
                self._by_name[asset.name] = AssetStateStoreAccessor(asset.name, history)

    def __getitem__(self, key: Any) -> AssetStateStoreAccessor:
        if not isinstance(key, Asset):
            raise TypeError(
                f"Expected Asset, AssetNameRef, or AssetUriRef; got {type(key).__name__}"
            )
        try:
            return self._by_name[key.name]
        except KeyError:
            raise KeyError(f"{key!r} is not in this task's inlets or outlets") from None

    def _single(self) -> AssetStateStoreAccessor:
        if len(self._by_name) != 1:
            raise ValueError(
                f"Task has {len(self._by_name)} concrete inlets and outlets — use "
                "context['asset_state_store'][MY_ASSET] to specify which"
            )
        return next(iter(self._by_name.values()))

    def get(self, key: str, default: Any = None) -> Any:
        return self._single().get(key, default)

    def set(self, key: str, value: Any) -> None:
        self._single().set(key, value)

    def delete(self, key: str) -> None:
        self._single().delete(key)

    def clear(self) -> None:
        self._single().clear()

    def __repr__(self) -> str:
        return f"<AssetStateStoreAccessors [{', '.join(f'name={n!r}' for n in self._by_name)}]>"


def has_assets(inlets: list, outlets: list) -> bool:
    """Whether Airflow gives the task an ``asset_state_store``."""
    return any(isinstance(a, Asset) for a in [*inlets, *outlets])
