"""Per-task overhead of ``flow.run()`` next to a hand-written Dask graph of the same shape.

Shapes: a chain of N tasks (each adds one to its upstream's result) and a fan-out/fan-in (one
source, N-2 parallel tasks, one sum). The raw Dask graph is run with ``dask.threaded.get`` in
the same process with the same number of workers, so the ratio is dagshift's own overhead:
trigger-rule decisions, task-run records, context, retries bookkeeping.

    python bench/runtime_overhead.py [--tasks 1000] [--repeat 7] [--json bench/results/runtime.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from operator import add

import dask.threaded

from dagshift import Flow, task


@task
def one():
    return 1


@task
def inc(x):
    return x + 1


@task
def total(parts):
    return sum(parts)


def inc_raw(x):
    return x + 1


def total_raw(*parts):
    return sum(parts)


def chain_flow(n: int) -> Flow:
    with Flow("chain") as flow:
        ref = one()
        for _ in range(n - 1):
            ref = inc(ref)
    return flow


def fan_flow(n: int) -> Flow:
    with Flow("fan") as flow:
        src = one()
        total([inc(src) for _ in range(n - 2)])
    return flow


def chain_dask(n: int) -> dict:
    dsk = {"t0": 1}
    for i in range(1, n):
        dsk[f"t{i}"] = (inc_raw, f"t{i - 1}")
    return dsk


def fan_dask(n: int) -> dict:
    dsk = {"src": 1}
    mids = []
    for i in range(n - 2):
        dsk[f"m{i}"] = (add, "src", 1)
        mids.append(f"m{i}")
    dsk["total"] = (total_raw, *mids)
    return dsk


def _time(fn, repeat: int) -> list[float]:
    fn()  # warm up: thread pools, imports
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--json", default="bench/results/runtime_overhead.json")
    args = parser.parse_args()
    n = args.tasks
    workers = 16
    rows = []
    for shape, make_flow, make_dask in (
        ("chain", chain_flow, chain_dask),
        ("fan", fan_flow, fan_dask),
    ):
        flow = make_flow(n)
        dsk = make_dask(n)
        keys = list(dsk)
        # Interleave the engines so that machine noise hits both alike.
        raw, ours = [], []
        for _ in range(args.repeat):
            raw += _time(lambda d=dsk, k=keys: dask.threaded.get(d, k, num_workers=workers), 1)
            ours += _time(lambda f=flow: f.run(num_workers=workers), 1)
        r, o = statistics.median(raw), statistics.median(ours)
        rows.append(
            {
                "shape": shape,
                "tasks": n,
                "dask_us_per_task": r / n * 1e6,
                "dagshift_us_per_task": o / n * 1e6,
                "dask_min_max_s": [min(raw), max(raw)],
                "dagshift_min_max_s": [min(ours), max(ours)],
                "ratio": o / r,
            }
        )
    machine = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "dask": dask.__version__,
    }
    print(f"{'shape':<6} {'tasks':>6} {'dask µs/task':>13} {'dagshift µs/task':>17} {'ratio':>6}")
    for row in rows:
        print(
            f"{row['shape']:<6} {row['tasks']:>6} {row['dask_us_per_task']:>13.1f} "
            f"{row['dagshift_us_per_task']:>17.1f} {row['ratio']:>6.2f}"
        )
    os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
    with open(args.json, "w") as fh:
        json.dump({"machine": machine, "repeat": args.repeat, "rows": rows}, fh, indent=2)


if __name__ == "__main__":
    main()
