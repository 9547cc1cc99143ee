"""Assets: data that tasks produce and flows are scheduled on.

A task's ``outlets`` name the assets it updates; when the task succeeds, the history records one
*asset event* per outlet (asset, flow, run, task, time, extra). A flow whose ``schedule`` is an
asset, a list of assets (all of them), or a condition built with ``|`` / ``&``
(:class:`AssetAny`, :class:`AssetAll`) starts when events it has not consumed yet satisfy the
condition, once per satisfied condition, and consumes every event of its assets up to then
(Airflow's asset-triggered runs). :class:`AssetOrTimeSchedule` adds a timetable beside the
condition. An :class:`AssetAlias` is an outlet whose assets are chosen while the task runs
(``outlet_events[alias].add(Asset(...))``); a flow scheduled on the alias starts on those events.

URIs are checked and normalized as Airflow 3 does (``_sanitize_uri``): scheme lowercased,
trailing slashes, fragments and user info dropped, query sorted; ``airflow://`` is reserved.
Airflow 2's ``Dataset`` has its own words for the same rules: ``kind="Dataset"``.

Example:
    >>> raw = Asset("s3://bucket/raw.csv")
    >>> @task(outlets=[raw])
    ... def extract(): ...
    >>> with Flow("report", schedule=[raw]) as report: ...
"""

from __future__ import annotations

import urllib.parse
import warnings
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

__all__ = [
    "OUTLET_EVENTS_KEY",
    "Asset",
    "AssetAlias",
    "AssetAll",
    "AssetAny",
    "AssetEvent",
    "AssetOrTimeSchedule",
    "AssetWatcher",
    "DirectoryFileDeleteTrigger",
    "FileDeleteTrigger",
    "BaseAsset",
    "INLET_EVENTS_KEY",
    "InletEventsAccessors",
    "Dataset",
    "DatasetAlias",
    "DatasetAll",
    "DatasetAny",
    "DatasetOrTimeSchedule",
    "Metadata",
    "OutletEventAccessor",
    "OutletEventAccessors",
    "TRIGGERING_EVENTS_KEY",
    "TriggeringAssetEvents",
    "asset_condition",
    "asset_context",
    "dataset_prechecks",
    "flow_outlets",
    "iter_assets",
    "sanitize_uri",
    "task_outlets",
]

# The pushed key under which a task hands its outlet extras and alias events to the recorder.
OUTLET_EVENTS_KEY = "__dagshift_outlet_events__"


def sanitize_uri(uri: Any, kind: str = "Asset") -> str:
    """Airflow's URI check and normalization; ``ValueError`` with Airflow's reason."""
    uri = str(uri)
    if kind == "Dataset":
        dataset_prechecks(uri)
    parsed = urllib.parse.urlsplit(uri)
    if not parsed.scheme and not parsed.netloc:  # not a URI: a name, kept as written
        return uri
    scheme = parsed.scheme.lower()
    if not scheme or scheme.startswith("x-"):
        return uri
    if scheme == "airflow":
        raise ValueError(f"{kind} scheme 'airflow' is reserved")
    user, at, netloc = parsed.netloc.rpartition("@")
    if kind == "Dataset" and at:
        warnings.warn(
            "A dataset URI should not contain auth info (e.g. username or password). It has "
            "been automatically dropped.",
            UserWarning,
            stacklevel=3,
        )
    elif kind != "Dataset" and parsed.password:
        warnings.warn(
            "An Asset URI should not contain a password. User info has been automatically "
            "dropped.",
            UserWarning,
            stacklevel=3,
        )
    elif kind != "Dataset":
        netloc = parsed.netloc
    query = urllib.parse.urlencode(sorted(urllib.parse.parse_qsl(parsed.query)))
    parsed = parsed._replace(
        scheme=scheme, netloc=netloc, path=parsed.path.rstrip("/") or "/", query=query, fragment=""
    )
    return urllib.parse.urlunsplit(parsed)


def dataset_prechecks(uri: str) -> None:
    """Airflow 2's first checks of a ``Dataset`` URI, in its words."""
    if not uri:
        raise ValueError("Dataset URI cannot be empty")
    if uri.isspace():
        raise ValueError("Dataset URI cannot be just whitespace")
    if not uri.isascii():
        raise ValueError("Dataset URI must only consist of ASCII characters")


def _identifier(kind: str, field: str, value: Any, empty_ok: bool = False) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{kind} {field} must be a string")
    if len(value) > 1500:
        raise ValueError(f"{kind} {field} cannot exceed 1500 characters")
    if value.isspace():
        raise ValueError(f"{kind} {field} cannot be just whitespace")
    if not value and not empty_ok:
        raise ValueError(f"{kind} {field} cannot be empty")
    return value


class BaseAsset:
    """Anything a flow can be scheduled on: an asset, an alias, or a condition of them."""

    def __or__(self, other: Any) -> BaseAsset:
        if not isinstance(other, BaseAsset):
            return NotImplemented
        return AssetAny(self, other)

    def __and__(self, other: Any) -> BaseAsset:
        if not isinstance(other, BaseAsset):
            return NotImplemented
        return AssetAll(self, other)

    def evaluate(self, ready: Mapping[str, bool]) -> bool:
        """Whether the condition holds when ``ready[key]`` tells which assets have events."""
        raise NotImplementedError

    def keys(self) -> Iterator[str]:
        """The keys (``uri`` of assets, ``alias:<name>`` of aliases) the condition reads."""
        raise NotImplementedError


class Asset(BaseAsset):
    """A piece of data, named by a URI (and a name, by default the URI).

    Args:
        name: the asset's name; with no ``uri`` it is the URI too (Airflow 3).
        uri: where the data is; ``s3://bucket/key``, ``file:///tmp/x``, or any name.
        group: a label for listings (default ``"asset"``).
        extra: JSON-able facts about the asset, kept with it.
        watchers: :class:`AssetWatcher` objects: ``serve`` records an event each time one fires.
    """

    kind = "Asset"

    def __init__(
        self,
        name: str | None = None,
        uri: Any = None,
        *,
        group: str | None = None,
        extra: Mapping[str, Any] | None = None,
        watchers: Iterable[Any] | None = None,
    ) -> None:
        if name is None and uri is None:
            raise TypeError(f"{self.kind}() requires either 'name' or 'uri'")
        name = str(uri) if name is None else name
        uri = name if uri is None else uri
        _identifier(self.kind, "name", name)
        if name in ("self", "context"):
            raise ValueError(f"prohibited name for asset: {name}")
        _identifier(self.kind, "uri", str(uri))
        self.name = name
        self.uri = sanitize_uri(uri, self.kind)
        self.group = _identifier(self.kind, "group", group if group is not None else "asset")
        self.extra = dict(extra or {})
        self.watchers = list(watchers or [])

    def __repr__(self) -> str:
        return f"{self.kind}(name={self.name!r}, uri={self.uri!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Asset):
            return NotImplemented
        return (self.name, self.uri) == (other.name, other.uri)

    def __hash__(self) -> int:
        return hash((self.name, self.uri))

    def __fspath__(self) -> str:
        return self.uri

    def __dagshift_code__(self) -> list[Any]:  # in a flow's fingerprint
        return [self.kind, self.name, self.uri]

    def evaluate(self, ready: Mapping[str, bool]) -> bool:
        return bool(ready.get(self.uri))

    def keys(self) -> Iterator[str]:
        yield self.uri


class AssetAlias(BaseAsset):
    """A name for assets that a task picks while it runs."""

    kind = "AssetAlias"

    def __init__(self, name: str, group: str = "asset") -> None:
        self.name = _identifier(self.kind, "name", name)
        self.group = _identifier(self.kind, "group", group, empty_ok=True)

    def __repr__(self) -> str:
        return f"{self.kind}(name={self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AssetAlias) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("alias", self.name))

    def __dagshift_code__(self) -> list[Any]:
        return [self.kind, self.name]

    @property
    def key(self) -> str:
        return f"alias:{self.name}"

    def evaluate(self, ready: Mapping[str, bool]) -> bool:
        return bool(ready.get(self.key))

    def keys(self) -> Iterator[str]:
        yield self.key


class _Condition(BaseAsset):
    agg = staticmethod(any)
    word = "AssetAny"

    def __init__(self, *objects: BaseAsset) -> None:
        if not all(isinstance(o, BaseAsset) for o in objects):
            raise TypeError("expect asset expressions in condition")
        self.objects = objects

    def __repr__(self) -> str:
        return f"{self.word}({', '.join(map(repr, self.objects))})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.objects == self.objects

    def __hash__(self) -> int:
        return hash((self.word, self.objects))

    def __dagshift_code__(self) -> list[Any]:
        return [self.word, *(o.__dagshift_code__() for o in self.objects)]

    def evaluate(self, ready: Mapping[str, bool]) -> bool:
        return self.agg(o.evaluate(ready) for o in self.objects)

    def keys(self) -> Iterator[str]:
        seen: set[str] = set()
        for obj in self.objects:
            for key in obj.keys():
                if key not in seen:
                    seen.add(key)
                    yield key


class AssetAny(_Condition):
    """True when any of its parts is: ``a | b``."""

    def __or__(self, other: Any) -> BaseAsset:
        if not isinstance(other, BaseAsset):
            return NotImplemented
        return type(self)(*self.objects, other)  # a | (b | c) is a | b | c


class AssetAll(_Condition):
    """True when all of its parts are: ``a & b``, or ``schedule=[a, b]``."""

    agg = staticmethod(all)
    word = "AssetAll"

    def __and__(self, other: Any) -> BaseAsset:
        if not isinstance(other, BaseAsset):
            return NotImplemented
        return type(self)(*self.objects, other)


class Dataset(Asset):
    """Airflow 2's ``Dataset(uri, extra=None)``: an asset named by its URI."""

    kind = "Dataset"

    def __init__(self, uri: str, extra: dict[str, Any] | None = None) -> None:
        dataset_prechecks(str(uri))  # Airflow 2's reasons first (empty, whitespace, ASCII)
        super().__init__(uri=uri, extra=extra)

    def __repr__(self) -> str:
        return f"Dataset(uri={self.uri!r}, extra={self.extra!r})"


class DatasetAlias(AssetAlias):
    kind = "DatasetAlias"


class DatasetAll(AssetAll):
    word = "DatasetAll"


class DatasetAny(AssetAny):
    word = "DatasetAny"


class AssetOrTimeSchedule:
    """Runs on a timetable and on an asset condition, whichever comes (Airflow 2.9+)."""

    def __init__(self, *, timetable: Any, assets: Any) -> None:
        self.timetable = timetable
        self.assets = _as_condition(assets)

    def __repr__(self) -> str:
        return f"AssetOrTimeSchedule(timetable={self.timetable!r}, assets={self.assets!r})"

    def __dagshift_code__(self) -> list[Any]:
        return ["AssetOrTimeSchedule", repr(self.timetable), self.assets.__dagshift_code__()]


class DatasetOrTimeSchedule(AssetOrTimeSchedule):
    """Airflow 2.9+'s ``DatasetOrTimeSchedule(timetable=..., datasets=...)``."""

    def __init__(self, *, timetable: Any, datasets: Any) -> None:
        super().__init__(timetable=timetable, assets=datasets)


def _as_condition(value: Any) -> BaseAsset:
    if isinstance(value, BaseAsset):
        return value
    items = list(value)
    if not items or not all(isinstance(i, BaseAsset) for i in items):
        raise TypeError(f"expected assets or an asset condition, got {value!r}")
    return AssetAll(*items)


def iter_assets(condition: BaseAsset) -> Iterator[Asset]:
    """The assets of a condition (not its aliases), depth first."""
    if isinstance(condition, Asset):
        yield condition
    for part in getattr(condition, "objects", ()):
        yield from iter_assets(part)


def asset_condition(schedule: Any) -> BaseAsset | None:
    """The asset condition of a flow's ``schedule`` (None when it has none)."""
    if isinstance(schedule, AssetOrTimeSchedule):
        return schedule.assets
    if isinstance(schedule, BaseAsset):
        return schedule
    if isinstance(schedule, list | tuple | set | frozenset) and schedule:
        if all(isinstance(i, BaseAsset) for i in schedule):
            return _as_condition(schedule)
    return None


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
            raise TypeError(
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


class Metadata:
    """Extra for an outlet's event, or an event through an alias (Airflow's ``Metadata``).

    A task yields it (``yield Metadata(asset, {"rows": 3})``): the extra goes to the event of
    ``asset``, and with ``alias`` an event of ``asset`` is added through the alias too.
    ``target=`` is Airflow 2's name for ``asset`` (which may be a URI there).
    """

    def __init__(
        self,
        asset: Any = None,
        extra: Mapping[str, Any] | None = None,
        alias: Any = None,
        *,
        target: Any = None,
    ) -> None:
        asset = target if asset is None else asset
        if asset is None:
            raise TypeError("Metadata() requires an asset")
        self.asset = asset if isinstance(asset, Asset) else Asset(str(asset))
        self.extra = dict(extra or {})
        self.alias = alias if alias is None or isinstance(alias, AssetAlias) else AssetAlias(alias)


class OutletEventAccessor:
    """``outlet_events[asset]``: the extra of the event the task records for that outlet."""

    def __init__(self, key: Any) -> None:
        self.key = key
        self.extra: dict[str, Any] = {}
        self.asset_alias_events: list[tuple[Asset, dict[str, Any]]] = []

    def add(self, asset: Asset, extra: Mapping[str, Any] | None = None) -> None:
        """Through an alias: record an event of ``asset`` when the task succeeds."""
        if not isinstance(self.key, AssetAlias):
            raise TypeError(f"add() is for an AssetAlias outlet, not {self.key!r}")
        self.asset_alias_events.append((asset, dict(extra or {})))


class OutletEventAccessors(Mapping):
    """The task context's ``outlet_events``: one accessor per asset or alias, made on use."""

    def __init__(self) -> None:
        self._by: dict[Any, OutletEventAccessor] = {}

    def __getitem__(self, key: Any) -> OutletEventAccessor:
        if isinstance(key, str):
            key = Asset(key)
        if not isinstance(key, Asset | AssetAlias):
            raise TypeError(f"outlet_events takes an Asset or an AssetAlias, not {key!r}")
        return self._by.setdefault(key, OutletEventAccessor(key))

    def __iter__(self) -> Iterator[Any]:
        return iter(self._by)

    def __len__(self) -> int:
        return len(self._by)

    def apply(self, metadata: Metadata) -> None:
        """A yielded :class:`Metadata`, as Airflow's callable runner applies it (2.x and 3.x):
        the extra goes to the asset's event, and through the alias too when it has one."""
        self[metadata.asset].extra.update(metadata.extra)
        if metadata.alias is not None:
            self[metadata.alias].add(metadata.asset, metadata.extra)

    def to_pushed(self) -> dict[str, Any]:
        """What the recorder reads: extras by URI, alias events by alias name."""
        extras = {k.uri: dict(a.extra) for k, a in self._by.items() if isinstance(k, Asset)}
        aliases = {
            k.name: [(asset.name, asset.uri, extra) for asset, extra in a.asset_alias_events]
            for k, a in self._by.items()
            if isinstance(k, AssetAlias)
        }
        return {"extra": extras, "aliases": aliases}


TRIGGERING_EVENTS_KEY = "triggering_asset_events"


class AssetEvent:
    """One recorded update of an asset, as a consumer's task sees it.

    Attributes mirror Airflow's: ``asset`` (and 2.x ``dataset``), ``extra``, ``timestamp``,
    ``source_dag_id``, ``source_run_id``, ``source_task_id``, plus ``id``.
    """

    def __init__(self, row: Mapping[str, Any], kind: str = "Asset") -> None:
        import pendulum

        self.id = row["id"]
        self.asset = Asset(row["name"], row["uri"])
        self.dataset = self.asset
        self.dataset_uri = row["uri"]
        self.extra = dict(row["extra"])
        self.timestamp = pendulum.parse(row["timestamp"])
        self.source_dag_id = row.get("flow")
        self.source_run_id = row.get("run_id")
        self.source_task_id = row.get("task_id")
        self.source_map_index = -1
        self.source_aliases = [AssetAlias(row["alias"])] if row.get("alias") else []

    def __repr__(self) -> str:
        return (
            f"AssetEvent(asset={self.asset.uri!r}, source={self.source_dag_id}/"
            f"{self.source_task_id}, extra={self.extra!r})"
        )


class TriggeringAssetEvents(Mapping):
    """``triggering_asset_events``: the events that started the run, by asset.

    Index with an :class:`Asset`, an :class:`AssetAlias` or a URI string (2.x's
    ``triggering_dataset_events`` is keyed by URI); a missing asset gives an empty list.
    """

    def __init__(self, events: Iterable[Mapping[str, Any]] = ()) -> None:
        self._events = [AssetEvent(e) for e in events]

    def _key(self, key: Any) -> str:
        if isinstance(key, AssetAlias):
            return key.key
        return key.uri if isinstance(key, Asset) else str(key)

    def __getitem__(self, key: Any) -> list[AssetEvent]:
        want = self._key(key)
        if want.startswith("alias:"):
            name = want[len("alias:") :]
            return [e for e in self._events if any(a.name == name for a in e.source_aliases)]
        return [e for e in self._events if e.asset.uri == want]

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(e.asset.uri for e in self._events))

    def __len__(self) -> int:
        return len(set(e.asset.uri for e in self._events))


# In a run's extra: the history's reader of recorded events, ``read(uri=...)`` /
# ``read(alias=...)`` -> event rows, oldest first (set by a recorded run; absent otherwise).
INLET_EVENTS_KEY = "dagshift.inlet_events"


class InletEventsAccessors(Mapping):
    """``inlet_events``: every recorded event of each of the task's inlets, oldest first.

    As Airflow's (2.10+ and 3): keyed by the task's inlets only (an asset, an alias, 2.x's URI
    string, or an index into the inlets); another key raises ``KeyError``. The events are read
    from the run's history when the run is recorded (``dagshift run``, ``serve``); a run that is
    not recorded sees none, as Airflow shows none for an asset nothing has updated.
    """

    def __init__(self, inlets: Iterable[Any] = (), read: Any = None) -> None:
        self._inlets = list(inlets or [])
        self._read = read

    def __iter__(self) -> Iterator[Any]:
        return iter(self._inlets)

    def __len__(self) -> int:
        return len(self._inlets)

    def __getitem__(self, key: Any) -> list[AssetEvent]:
        obj = self._inlets[key] if isinstance(key, int) else key
        if isinstance(obj, str):  # Airflow 2: a URI, normalized as a Dataset's
            uri = sanitize_uri(obj, "Dataset")
            obj = next((i for i in self._inlets if isinstance(i, Asset) and i.uri == uri), None)
        if isinstance(obj, AssetAlias) and obj in self._inlets:
            return self.for_asset_alias(name=obj.name)
        if isinstance(obj, Asset) and obj in self._inlets:
            return self._events(uri=obj.uri)
        raise KeyError(key)

    def for_asset(self, *, name: str | None = None, uri: str | None = None) -> list[AssetEvent]:
        """The events of the inlet asset named ``name`` (or at ``uri``)."""
        for inlet in self._inlets:
            if isinstance(inlet, Asset) and (inlet.name == name or inlet.uri == uri):
                return self._events(uri=inlet.uri)
        raise KeyError(name if uri is None else uri)

    def for_asset_alias(self, *, name: str) -> list[AssetEvent]:
        """The events recorded through the inlet alias ``name``."""
        if AssetAlias(name) not in self._inlets:
            raise KeyError(name)
        return self._events(alias=name)

    def _events(self, **where: Any) -> list[AssetEvent]:
        return [] if self._read is None else [AssetEvent(e) for e in self._read(**where)]


def asset_context(current: Any) -> dict[str, Any]:
    """The run context's asset names for the running task ``current``."""
    events = TriggeringAssetEvents(current.run.extra.get(TRIGGERING_EVENTS_KEY, ()))
    out: dict[str, Any] = {"triggering_asset_events": events, "triggering_dataset_events": events}
    read = current.run.extra.get(INLET_EVENTS_KEY)
    out["inlet_events"] = InletEventsAccessors(current.inlets or (), read)
    if current.pushed is not None:
        out["outlet_events"] = current.pushed.setdefault(OUTLET_EVENTS_KEY, OutletEventAccessors())
    return out


def task_outlets(node: Any) -> list[Any]:
    """The outlets of a flow node: ``@task(outlets=...)``'s, or its Airflow operator's."""
    outlets = node.meta.get("outlets")
    if outlets is None:
        outlets = getattr(node.meta.get("operator"), "outlets", None)
    return [o for o in (outlets or []) if isinstance(o, Asset | AssetAlias)]


def flow_outlets(flow: Any) -> set[str]:
    """The URIs (and ``alias:<name>`` keys) that ``flow``'s tasks update."""
    out: set[str] = set()
    for node in flow.tasks.values():
        for outlet in task_outlets(node):
            out.update(outlet.keys())
    return out
