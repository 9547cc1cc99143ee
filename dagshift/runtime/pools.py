"""Pools: named numbers of slots that the tasks of every run in the process share, as Airflow's.

A task holds ``pool_slots`` slots (1 by default) of its ``pool`` while it runs, one try at a time
(a task waiting to retry holds none, as in Airflow, where ``up_for_retry`` is not counted); a
task naming no pool uses ``default_pool``, 128 slots unless set otherwise (Airflow's
``default_pool_task_slot_count``). A task that cannot get its slots waits, whichever run it
belongs to: the accounting is one per process, so ``serve``, ``backfill``, ``run --dates`` and a
user's own threads share it. On a cluster each worker process counts its own slots.

Airflow's scheduler never starts a task whose pool does not exist or whose ``pool_slots``
exceed the pool's size (it logs a warning and leaves the task scheduled); the task starts once
the pool is made large enough. dagshift does the same: the task waits, says once on stderr what
it waits for and how to fix it, and reads the pools again every second (a cancel of its run
ends the wait). ``dag.test()`` ignores pools altogether; the scheduler is the behaviour matched.

Where pools are defined: the JSON file named by ``$DAGSHIFT_POOLS``, else
``.dagshift/pools.json`` in the working directory, in the shape ``airflow pools export`` writes
(``{"name": {"slots": 4, "description": "..."}}``), beside the variables and connections
stores; ``$DAGSHIFT_POOL_SLOTS="name=4,other=-1"`` overrides sizes for one process. ``-1``
slots is unlimited, as in Airflow. ``dagshift pools list/set/delete`` edits the file.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dagshift.runtime.cancel import check_cancelled
from dagshift.runtime.files import read_json_object, write_atomic

__all__ = [
    "DEFAULT_POOL",
    "DEFAULT_SLOTS",
    "ENV_POOLS",
    "ENV_SLOTS",
    "PoolError",
    "check_slots",
    "delete_pool",
    "hold",
    "in_use",
    "pools",
    "set_pool",
    "store_path",
]

DEFAULT_POOL = "default_pool"
DEFAULT_SLOTS = 128
ENV_POOLS = "DAGSHIFT_POOLS"
ENV_SLOTS = "DAGSHIFT_POOL_SLOTS"
_RECHECK = 1.0  # seconds between two looks at the pools while a task waits for a change
_FRESH = 0.5  # seconds a task start trusts what the pools were
_MAX_TOKENS = 65536

_lock = threading.Lock()  # guards the gates' sizes, the cached pools and the store file
_freed = threading.Condition(_lock)
_cache: tuple[Any, dict[str, dict[str, Any]]] | None = None
_checked = 0.0
_waiting = 0  # tasks waiting for slots (under _lock)


class _Gate:
    """One pool's slots. A free slot is a token in a C-level queue, so that a task takes one
    without a lock: 1,000 runs at once all take slots of default_pool, and a lock every task
    takes makes their threads queue behind whichever holds it when the GIL switches.
    A pool made smaller keeps a debt that slots given back pay first; an unlimited pool (-1)
    only counts."""

    __slots__ = ("debt", "finite", "tokens", "unlimited", "counted")

    def __init__(self) -> None:
        self.tokens: queue.SimpleQueue = queue.SimpleQueue()
        self.finite = self.debt = self.counted = 0
        self.unlimited = False

    def resize(self, size: int) -> None:  # under _lock
        # More slots than threads could ever use are as good as unlimited, and cost no tokens.
        self.unlimited = size == -1 or size > _MAX_TOKENS
        if self.unlimited or size == self.finite:
            return
        more, self.finite = size - self.finite, size
        if more > 0:
            paid = min(more, self.debt)
            self.debt -= paid
            for _ in range(more - paid):
                self.tokens.put(True)
            return
        for _ in range(-more):
            try:
                self.tokens.get_nowait()
            except queue.Empty:
                self.debt += 1

    def held(self) -> int:
        return self.finite + self.debt - self.tokens.qsize() + self.counted

    def take(self, slots: int) -> bool:  # under _lock, but for one slot
        """Take ``slots`` free slots at once, or none."""
        if self.unlimited:
            self.counted += slots
            return True
        got = 0
        while got < slots:
            try:
                self.tokens.get_nowait()
            except queue.Empty:
                break
            got += 1
        if got == slots:
            return True
        for _ in range(got):
            self.tokens.put(True)
        return False

    def give(self, slots: int, counted: bool) -> None:
        if counted:
            with _lock:
                self.counted -= slots
            return
        for _ in range(slots):
            if self.debt:  # (a hint: checked again under the lock)
                with _lock:
                    if self.debt:
                        self.debt -= 1
                        continue
            self.tokens.put(True)


_gates: dict[str, _Gate] = {}


class PoolError(ValueError):
    """A pools file, override or argument that cannot be used; the message says what to do."""


def store_path() -> Path:
    return Path(os.environ.get(ENV_POOLS, ".dagshift/pools.json"))


def check_slots(value: Any, where: str) -> int:
    """``value`` if it is a pool size (a whole number >= 0, or -1), else PoolError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < -1:
        raise PoolError(f"{where}: slots must be a whole number >= 0, or -1 for unlimited")
    return value


def _read() -> dict[str, dict[str, Any]]:
    path = store_path()
    try:
        stored = read_json_object(path, "the pools file")
    except RuntimeError as exc:
        raise PoolError(str(exc)) from None
    out = {DEFAULT_POOL: {"slots": DEFAULT_SLOTS, "description": "Default pool"}}
    for name, entry in stored.items():
        if isinstance(entry, int) and not isinstance(entry, bool):
            entry = {"slots": entry}
        if not isinstance(entry, Mapping) or "slots" not in entry:
            raise PoolError(
                f'{path}: pool {name!r} must be {{"slots": N, "description": "..."}}; '
                "fix the file, or set it again with `dagshift pools set NAME SLOTS`"
            )
        slots = check_slots(entry["slots"], f"{path}: pool {name!r}")
        out[name] = {"slots": slots, "description": str(entry.get("description") or "")}
    for item in filter(None, os.environ.get(ENV_SLOTS, "").split(",")):
        name, sep, raw = item.partition("=")
        try:
            slots = int(raw)
        except ValueError:
            slots = -2
        if not sep or not name.strip():
            slots = -2
        where = f"${ENV_SLOTS} entry {item.strip()!r} (give NAME=SLOTS, comma-separated)"
        entry = out.setdefault(name.strip(), {"description": f"from ${ENV_SLOTS}"})
        entry["slots"] = check_slots(slots, where)
    return out


def _key() -> Any:
    path = store_path()
    try:
        st = path.stat()
        seen: Any = (st.st_mtime_ns, st.st_size, st.st_ino)
    except OSError:
        seen = None
    return (str(path), seen, os.environ.get(ENV_SLOTS, ""))


def _current(fresh: bool = False) -> dict[str, dict[str, Any]]:
    """The pools now (under _lock). A task start looks at the file at most every
    ``_FRESH`` seconds: a stat per task would cost more than a small task does."""
    global _cache, _checked
    now = time.monotonic()
    if _cache is not None and not fresh and now < _checked + _FRESH:
        return _cache[1]
    key = _key()
    if _cache is None or _cache[0] != key:
        found = _read()
        for name, pool in found.items():
            _gates.setdefault(name, _Gate()).resize(pool["slots"])
        _cache = (key, found)
    _checked = now
    return _cache[1]


def _forget() -> None:
    global _checked
    _checked = float("-inf")  # the next task start reads the file this process just wrote


def pools() -> dict[str, dict[str, Any]]:
    """Every pool: ``{name: {"slots", "description", "running"}}`` (running: slots held in
    this process), ``default_pool`` first.

    Raises:
        PoolError: the pools file or ``$DAGSHIFT_POOL_SLOTS`` cannot be used.
    """
    with _lock:
        found = _current(fresh=True)
        return {n: {**p, "running": _gates[n].held()} for n, p in found.items()}


def in_use(name: str) -> int:
    """Slots of pool ``name`` held by running tasks of this process."""
    with _lock:
        gate = _gates.get(name)
        return gate.held() if gate is not None else 0


def set_pool(name: str, slots: int, description: str = "") -> None:
    """Create or resize a pool in the pools file (waiting tasks see it within a second)."""
    if not isinstance(name, str) or not name.strip():
        raise PoolError("a pool needs a non-empty name")
    check_slots(slots, f"pool {name!r}")
    with _lock:
        path = store_path()
        stored = read_json_object(path, "the pools file") if path.exists() else {}
        stored[name] = {"slots": slots, "description": description, "include_deferred": False}
        write_atomic(path, json.dumps(stored, indent=2, sort_keys=True) + "\n")
        _forget()
        _freed.notify_all()


def delete_pool(name: str) -> bool:
    """Remove a pool from the pools file; False if it was not there.

    Raises:
        PoolError: ``default_pool``, which Airflow does not let anyone delete either.
    """
    if name == DEFAULT_POOL:
        raise PoolError(f"{DEFAULT_POOL} cannot be deleted (resize it instead)")
    with _lock:
        path = store_path()
        stored = read_json_object(path, "the pools file")
        if stored.pop(name, None) is None:
            return False
        write_atomic(path, json.dumps(stored, indent=2, sort_keys=True) + "\n")
        _forget()
        return True


def _why_waiting(name: str, slots: int, task_id: str, fresh: bool) -> str | None:
    """Why a task cannot start until the pools change (None: it only waits for slots)."""
    pool = _current(fresh).get(name)
    if pool is None:
        return (
            f"dagshift: task {task_id!r} waits for pool {name!r}, which does not exist (as "
            f"Airflow, dagshift does not start it): create it with `dagshift pools set {name} "
            f"SLOTS` (file {store_path()}) or ${ENV_SLOTS}={name}=SLOTS"
        )
    if pool["slots"] != -1 and slots > pool["slots"]:
        return (
            f"dagshift: task {task_id!r} needs {slots} slots of pool {name!r}, which has "
            f"{pool['slots']} (as Airflow, dagshift does not start it): enlarge the pool with "
            f"`dagshift pools set {name} {slots}`, or lower the task's pool_slots"
        )
    return None


class hold:  # noqa: N801  (used as a function: ``with hold(pool, slots, task_id):``)
    """Hold ``slots`` slots of ``pool`` (``default_pool`` if None) for the code inside,
    waiting until they are free.

    Raises:
        Cancelled: the run of the waiting task was cancelled.
        PoolError: the pools cannot be read.
    """

    __slots__ = ("name", "slots", "task_id", "gate", "counted")

    def __init__(self, pool: str | None, slots: int = 1, task_id: str = "?") -> None:
        self.name, self.slots, self.task_id = pool or DEFAULT_POOL, slots, task_id

    def __enter__(self) -> None:
        cache = _cache
        if self.slots == 1 and cache is not None and time.monotonic() < _checked + _FRESH:
            gate = _gates.get(self.name)
            if gate is not None and not gate.unlimited and self.name in cache[1]:
                try:  # the usual case: a free slot, taken without a lock
                    gate.tokens.get_nowait()
                except queue.Empty:
                    pass
                else:
                    self.gate, self.counted = gate, False
                    return
        self._wait()

    def _wait(self) -> None:
        global _waiting
        name, slots = self.name, self.slots
        told = fresh = False
        with _lock:
            while True:
                why = _why_waiting(name, slots, self.task_id, fresh)
                gate = _gates[name] if why is None else None
                if gate is not None and gate.take(slots):
                    self.gate, self.counted = gate, gate.unlimited
                    return
                if why is not None and not told:
                    print(why, file=sys.stderr, flush=True)
                    told = True
                check_cancelled()
                _waiting += 1  # counted before the last look: a slot given back now wakes us
                try:
                    if gate is None or not gate.take(slots):
                        _freed.wait(_RECHECK)
                        fresh = True  # a task that waited looks at the pools as they are now
                        continue
                finally:
                    _waiting -= 1
                self.gate, self.counted = gate, gate.unlimited
                return

    def __exit__(self, *exc: Any) -> None:
        self.gate.give(self.slots, self.counted)
        if _waiting:  # (notify_all costs more than the rest: most tasks wait for nothing)
            with _lock:
                _freed.notify_all()
