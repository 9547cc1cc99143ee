"""Many runs at once, and recorded runs next to unrecorded ones, in one process.

Two measurements, each side by side in one run of this script (rounds interleaved, medians;
a ratio is the median of the rounds' own ratios, each round's two sides measured a moment
apart, so that the load of a shared machine, which changes from second to second, weighs on
both sides of each ratio alike):

* concurrent / in turn: N runs of a 10-task flow of trivial tasks started at once from N threads,
  against the same N runs one after another in one thread started the same way (N = 1, 10,
  200, 1000); runs per second for both. The same threads on plain Python code that spins as
  long as one run (no dagshift) give the floor of that ratio: thread wake-ups and the GIL.
  Also 50 concurrent runs of a flow whose tasks sleep, against one such run (I/O overlaps).
* recorded / unrecorded: per-task cost of ``run_recorded`` (history in SQLite, every result
  checkpointed) against ``flow.run()`` on chains and fans of 10, 100 and 1,000 tasks, each
  sample at least 2,000 tasks (200 runs of a 10-task flow, 2 of a 1,000-task one); in time,
  and in the process's CPU time (which the other work of a shared machine does not inflate).

    python bench/concurrency.py [--repeat 3] [--quick] [--json bench/results/concurrency.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from dagshift import Flow, task
from dagshift.history.checkpoint import ResultStore, run_recorded
from dagshift.history.store import Store


@task
def one():
    return 1


@task
def inc(x):
    return x + 1


@task
def total(parts):
    return sum(parts)


@task
def nap(x=None):
    time.sleep(0.2)
    return 1


def chain_flow(n: int, name: str = "chain") -> Flow:
    with Flow(name) as flow:
        ref = one()
        for _ in range(n - 1):
            ref = inc(ref)
    return flow


def fan_flow(n: int) -> Flow:
    with Flow("fan") as flow:
        src = one()
        total([inc(src) for _ in range(n - 2)])
    return flow


def sleepy_flow() -> Flow:
    with Flow("sleepy") as flow:
        first = nap()
        nap.override(task_id="nap_b")(first)
        nap.override(task_id="nap_c")(first)
    return flow


def _paired(tops: list[float], bottoms: list[float]) -> float:
    """The median of the ratios of samples taken in the same round."""
    return statistics.median(t / b for t, b in zip(tops, bottoms, strict=True))


def _in_turn(flow: Flow, n: int) -> float:
    """N runs one after another, in one thread started as each of :func:`_at_once`'s is."""
    return _threads(flow, [list(range(n))])


def _at_once(flow: Flow, n: int) -> float:
    """N runs at once, one per thread."""
    return _threads(flow, [[i] for i in range(n)])


def _threads(flow: Flow, shares: list[list[int]]) -> float:
    """Seconds from releasing the threads (one per share of run numbers) to the last one's
    end. Both sides pay the same thread wake-up and join: for one run, in turn and at once are
    the same work, and the row shows what that costs and the machine's noise."""
    states: list[str] = []
    barrier = threading.Barrier(len(shares) + 1)

    def runs(share: list[int]) -> None:
        barrier.wait()
        for i in share:
            states.append(flow.run(logical_date=f"2024-01-01T00:00:{i % 60:02d}").state)

    threads = [threading.Thread(target=runs, args=(share,)) for share in shares]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    n = sum(map(len, shares))
    assert states.count("success") == n, states
    return elapsed


def concurrency(counts: list[int], repeat: int) -> list[dict]:
    flow = chain_flow(10, "ten")
    flow.run()  # warm
    rows = []
    for n in counts:
        turn, once = [], []
        # rounds of a few runs last less than the machine's noise: more of them
        for _ in range(max(repeat, 200 // n)):
            turn.append(_in_turn(flow, n))
            once.append(_at_once(flow, n))
        t, o = statistics.median(turn), statistics.median(once)
        ratio = _paired(once, turn)
        rows.append(
            {
                "runs": n,
                "in_turn_s": round(t, 6),
                "concurrent_s": round(o, 6),
                "in_turn_runs_per_s": round(n / t, 1),
                "concurrent_runs_per_s": round(n / o, 1),
                "concurrent_over_in_turn": round(ratio, 3),
            }
        )
        print(
            f"{n:5d} runs x 10 tasks: in turn {t:7.3f} s ({n / t:7.1f} runs/s), "
            f"at once {o:7.3f} s ({n / o:7.1f} runs/s), ratio {ratio:.2f}",
            flush=True,
        )
    return rows


class _Spin:
    """Not a flow: ``run()`` spins about as long as one run of the 10-task chain, in Python,
    holding the GIL as a run does. The same threads on it show what the harness and the GIL
    cost by themselves: the floor under at once / in turn for runs of trivial tasks."""

    def __init__(self, seconds: float) -> None:
        self.loops = 1000
        while self._time() < seconds:
            self.loops *= 2

    def _time(self) -> float:
        start = time.perf_counter()
        self.run()
        return time.perf_counter() - start

    def run(self, logical_date: str | None = None) -> Any:
        total = 0
        for i in range(self.loops):
            total += i
        return _Done


class _Done:
    state = "success"


def harness(counts: list[int], repeat: int, one_run_s: float) -> list[dict]:
    spin = _Spin(one_run_s)
    rows = []
    for n in counts:
        turn, once = [], []
        for _ in range(max(repeat, 200 // n)):
            turn.append(_in_turn(spin, n))  # type: ignore[arg-type]
            once.append(_at_once(spin, n))  # type: ignore[arg-type]
        ratio = _paired(once, turn)
        rows.append({"runs": n, "concurrent_over_in_turn": round(ratio, 3)})
        print(f"{n:5d} runs of plain Python: at once / in turn {ratio:.2f}", flush=True)
    return rows


def io_overlap(repeat: int) -> dict:
    flow = sleepy_flow()
    single = statistics.median(_in_turn(flow, 1) for _ in range(repeat))
    fifty = statistics.median(_at_once(flow, 50) for _ in range(repeat))
    print(f"sleeping tasks: one run {single:.3f} s, 50 at once {fifty:.3f} s", flush=True)
    return {"one_run_s": round(single, 4), "fifty_at_once_s": round(fifty, 4)}


_SAMPLE_TASKS = 2000


def recorded(sizes: list[int], repeat: int) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "dagshift.db")
        results = ResultStore.beside(Path(tmp) / "dagshift.db")
        for shape, make in (("chain", chain_flow), ("fan", fan_flow)):
            for n in sizes:
                flow = make(n)
                flow.run()
                run_recorded(store, results, flow)  # warm: registers the version
                # A sample is several runs of a small flow (2,000 tasks at least): one run of
                # ten trivial tasks lasts less than the machine's noise.
                runs = -(-_SAMPLE_TASKS // n)
                plain, rec, plain_cpu, rec_cpu = [], [], [], []
                for _ in range(repeat):
                    start, cpu = time.perf_counter(), time.process_time()
                    for _ in range(runs):
                        assert flow.run().state == "success"
                    plain.append((time.perf_counter() - start) / runs)
                    plain_cpu.append(time.process_time() - cpu)
                    start, cpu = time.perf_counter(), time.process_time()
                    for _ in range(runs):
                        assert run_recorded(store, results, flow).state == "success"
                    rec.append((time.perf_counter() - start) / runs)
                    rec_cpu.append(time.process_time() - cpu)
                p, r = statistics.median(plain) / n, statistics.median(rec) / n
                ratio = _paired(rec, plain)
                # CPU time of the whole process (the writer's thread too): what the other
                # sessions of a shared machine take does not count in it, waits for the disk
                # do not either
                cpu_ratio = _paired(rec_cpu, plain_cpu)
                rows.append(
                    {
                        "shape": shape,
                        "tasks": n,
                        "unrecorded_ms_per_task": round(p * 1000, 4),
                        "recorded_ms_per_task": round(r * 1000, 4),
                        "recorded_over_unrecorded": round(ratio, 3),
                        "recorded_over_unrecorded_cpu": round(cpu_ratio, 3),
                    }
                )
                print(
                    f"{shape:5s} {n:5d} tasks: unrecorded {p * 1000:.3f} ms/task, recorded "
                    f"{r * 1000:.3f} ms/task, ratio {ratio:.2f} (CPU {cpu_ratio:.2f})",
                    flush=True,
                )
        store.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="smaller counts, for a first look")
    ap.add_argument("--json", default=None)
    ap.add_argument("--only", choices=("concurrency", "recorded"), default=None)
    args = ap.parse_args(argv)
    counts = [1, 10, 200] if args.quick else [1, 10, 200, 1000]
    sizes = [10, 100] if args.quick else [10, 100, 1000]
    out: dict = {
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "date": time.strftime("%Y-%m-%d"),
            "load": [round(x, 2) for x in os.getloadavg()],
            "repeat": args.repeat,
        },
    }
    if args.json and Path(args.json).exists():  # notes written by hand stay
        old = json.loads(Path(args.json).read_text())
        out.update({k: old[k] for k in ("before", "soak") if k in old})
    if args.only in (None, "concurrency"):
        out["concurrency"] = concurrency(counts, args.repeat)
        one_run = out["concurrency"][0]["in_turn_s"]
        out["harness"] = harness(counts, args.repeat, one_run)
        out["io_overlap"] = io_overlap(args.repeat)
    if args.only in (None, "recorded"):
        out["recorded"] = recorded(sizes, args.repeat)
    out["machine"]["load_end"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
