"""dagshift on a 2-worker LocalCluster next to a hand-written Dask graph on the same cluster.

Shapes as in runtime_overhead.py: a 1,000-task chain and a 1,000-task fan-out/fan-in. The raw
graph is submitted with ``client.get`` and only its last key comes back; dagshift brings back
every task's state and timings and the leaves' results (its default on a cluster).

    python bench/distributed_overhead.py [--tasks 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

from runtime_overhead import chain_dask, chain_flow, fan_dask, fan_flow  # noqa: E402


def main() -> None:
    from distributed import Client, LocalCluster

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", default="bench/results/distributed_overhead.json")
    args = parser.parse_args()
    n = args.tasks
    os.environ["PYTHONPATH"] = os.path.dirname(os.path.abspath(__file__))
    rows = []
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        for shape, make_flow, make_dask, last in (
            ("chain", chain_flow, chain_dask, f"t{n - 1}"),
            ("fan", fan_flow, fan_dask, "total"),
        ):
            flow, dsk = make_flow(n), make_dask(n)
            client.get(dsk, [last])
            flow.run(cluster=client)  # warm up both
            raw, ours = [], []
            for _ in range(args.repeat):
                start = time.perf_counter()
                client.get(dsk, [last])
                raw.append(time.perf_counter() - start)
                start = time.perf_counter()
                run = flow.run(cluster=client)
                ours.append(time.perf_counter() - start)
                assert run.ok
            r, o = statistics.median(raw), statistics.median(ours)
            rows.append(
                {
                    "shape": shape,
                    "tasks": n,
                    "dask_ms_per_task": r / n * 1e3,
                    "dagshift_ms_per_task": o / n * 1e3,
                    "ratio": o / r,
                    "dask_min_max_s": [min(raw), max(raw)],
                    "dagshift_min_max_s": [min(ours), max(ours)],
                }
            )
    print(f"{'shape':<6} {'tasks':>6} {'dask ms/task':>13} {'dagshift ms/task':>17} {'ratio':>6}")
    for row in rows:
        print(
            f"{row['shape']:<6} {row['tasks']:>6} {row['dask_ms_per_task']:>13.2f} "
            f"{row['dagshift_ms_per_task']:>17.2f} {row['ratio']:>6.2f}"
        )
    machine = {"python": platform.python_version(), "cpus": os.cpu_count(), "workers": 2}
    os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
    with open(args.json, "w") as fh:
        json.dump({"machine": machine, "repeat": args.repeat, "rows": rows}, fh, indent=2)


if __name__ == "__main__":
    main()
