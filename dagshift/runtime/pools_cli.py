"""``dagshift pools list/get/set/delete/import/export``: the pools file, as ``airflow pools``.

``import`` and ``export`` read and write the JSON that ``airflow pools export`` writes, so a
team's pools come over from Airflow with one command.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from dagshift.runtime import pools

__all__ = ["register"]


def _err(message: str) -> int:
    print(f"dagshift: {message}", file=sys.stderr)
    return 1


def _shown(slots: int) -> str:
    return "unlimited" if slots == -1 else str(slots)


def _print(found: dict[str, dict[str, Any]], as_json: bool) -> None:
    if as_json:
        print(json.dumps(found, indent=2, sort_keys=True))
        return
    width = max([4, *map(len, found)])
    print(f"{'pool':<{width}}  {'slots':>9}  description")
    for name, pool in found.items():
        print(f"{name:<{width}}  {_shown(pool['slots']):>9}  {pool['description']}")


def _read() -> list[tuple[str, dict[str, Any]]]:
    return list(pools.pools().items())


def _list(args: argparse.Namespace) -> int:
    found = {n: {"slots": p["slots"], "description": p["description"]} for n, p in _read()}
    _print(found, args.json)
    return 0


def _get(args: argparse.Namespace) -> int:
    found = dict(_read())
    if args.name not in found:
        return _err(f"no pool {args.name!r} (list them with `dagshift pools list`)")
    pool = found[args.name]
    _print({args.name: {"slots": pool["slots"], "description": pool["description"]}}, args.json)
    return 0


def _set(args: argparse.Namespace) -> int:
    pools.set_pool(args.name, args.slots, args.description)
    print(f"pool {args.name!r}: {_shown(args.slots)} slots ({pools.store_path()})")
    return 0


def _delete(args: argparse.Namespace) -> int:
    if not pools.delete_pool(args.name):
        return _err(f"no pool {args.name!r} in {pools.store_path()}")
    print(f"pool {args.name!r} deleted ({pools.store_path()})")
    return 0


def _import(args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        return _err(f"{path}: cannot read pools to import ({exc})")
    if not isinstance(data, dict):
        return _err(f'{path}: expected {{"name": {{"slots": N, "description": "..."}}}}')
    checked = []
    for name, entry in data.items():
        if not isinstance(entry, dict) or "slots" not in entry:
            return _err(f'{path}: pool {name!r} must be {{"slots": N, "description": "..."}}')
        slots = pools.check_slots(entry["slots"], f"{path}: pool {name!r}")
        checked.append((name, slots, str(entry.get("description") or "")))
    for name, slots, description in checked:  # every entry checked before any is written
        pools.set_pool(name, slots, description)
    print(f"{len(checked)} pool(s) imported into {pools.store_path()}")
    return 0


def _export(args: argparse.Namespace) -> int:
    found = {
        n: {"slots": p["slots"], "description": p["description"], "include_deferred": False}
        for n, p in _read()
    }
    Path(args.file).write_text(json.dumps(found, indent=2, sort_keys=True) + "\n")
    print(f"{len(found)} pool(s) exported to {args.file}")
    return 0


def _guarded(func):
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except pools.PoolError as exc:
            return _err(str(exc))

    return run


def _slots(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -2
    if value < -1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number >= 0, or -1 (unlimited)")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pools",
        help="list and edit pools (named slots tasks share, as Airflow's pools)",
        description="Pools live in .dagshift/pools.json ($DAGSHIFT_POOLS names another file); "
        "$DAGSHIFT_POOL_SLOTS=NAME=N,... overrides sizes for one process. A task holds "
        "pool_slots slots of its pool (default_pool, 128 slots, when it names none) while it "
        "runs.",
    )
    commands = p.add_subparsers(dest="pools_command", required=True)
    c = commands.add_parser("list", help="every pool with its slots")
    c.add_argument("--json", action="store_true", help="print JSON")
    c.set_defaults(func=_guarded(_list))
    c = commands.add_parser("get", help="one pool")
    c.add_argument("name")
    c.add_argument("--json", action="store_true", help="print JSON")
    c.set_defaults(func=_guarded(_get))
    c = commands.add_parser("set", help="create or resize a pool")
    c.add_argument("name")
    c.add_argument("slots", type=_slots, help="a whole number of slots, -1 for unlimited")
    c.add_argument("description", nargs="?", default="")
    c.set_defaults(func=_guarded(_set))
    c = commands.add_parser("delete", help="delete a pool (not default_pool)")
    c.add_argument("name")
    c.set_defaults(func=_guarded(_delete))
    c = commands.add_parser("import", help="add the pools of a JSON file (airflow pools export)")
    c.add_argument("file")
    c.set_defaults(func=_guarded(_import))
    c = commands.add_parser("export", help="write every pool to a JSON file")
    c.add_argument("file")
    c.set_defaults(func=_guarded(_export))
