"""One measurement in a fresh process: run a chain or a fan-out/fan-in on one engine.

The suite (``bench/suite.py``) starts this script once per engine, shape, size and repeat, in the
Python of the engine's own environment, and reads one JSON line from stdout:

- ``startup_s``: from the parent's ``BENCH_T0`` (taken just before it started this process) to
  the first task body, i.e. interpreter start, imports, graph definition and scheduling;
- ``cold_s``: definition plus the first run; ``warm_s``: definition plus a second run in the same
  process (what a long-lived service pays), when the engine can afford it;
- ``peak_rss_mb``: ``ru_maxrss`` of this process.

Every engine runs the same bodies: ``one()`` returns 1, ``inc(x)`` adds one, ``total(xs)`` sums.

    python bench/engines.py ENGINE SHAPE N [--dag-file PATH]
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time

_FIRST = [False]


def _mark() -> None:
    if not _FIRST[0]:
        _FIRST[0] = True
        path = os.environ.get("BENCH_MARK")
        if path:
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                os.write(fd, repr(time.time()).encode())
                os.close(fd)
            except FileExistsError:
                pass


def one_body() -> int:
    _mark()
    return 1


def inc_body(x: int) -> int:
    _mark()
    return x + 1


def total_body(xs) -> int:
    _mark()
    return sum(xs)


def expected(shape: str, n: int) -> int:
    return n if shape == "chain" else 2 * (n - 2)


# --- engines: each returns the final value -------------------------------------------------


def run_python(shape: str, n: int) -> int:
    v = one_body()
    if shape == "chain":
        for _ in range(n - 1):
            v = inc_body(v)
        return v
    return total_body([inc_body(v) for _ in range(n - 2)])


def run_dask_graph(shape: str, n: int) -> int:
    import dask.threaded

    dsk: dict = {"t0": (one_body,)}
    if shape == "chain":
        for i in range(1, n):
            dsk[f"t{i}"] = (inc_body, f"t{i - 1}")
        last = f"t{n - 1}"
    else:
        mids = [f"m{i}" for i in range(n - 2)]
        dsk.update({m: (inc_body, "t0") for m in mids})
        dsk["total"] = (total_body, mids)
        last = "total"
    return dask.threaded.get(dsk, last)


def run_dask_delayed(shape: str, n: int) -> int:
    import dask

    one, inc, total = (dask.delayed(f, pure=False) for f in (one_body, inc_body, total_body))
    v = one()
    if shape == "chain":
        for _ in range(n - 1):
            v = inc(v)
        return v.compute(scheduler="threads")
    return total([inc(v) for _ in range(n - 2)]).compute(scheduler="threads")


def _dagshift_flow(shape: str, n: int):
    from dagshift import Flow, task

    one, inc, total = (task(f) for f in (one_body, inc_body, total_body))
    with Flow(f"{shape}{n}") as flow:
        v = one()
        if shape == "chain":
            for _ in range(n - 1):
                v = inc(v)
        else:
            total([inc(v) for _ in range(n - 2)])
    return flow


def run_dagshift(shape: str, n: int) -> int:
    run = _dagshift_flow(shape, n).run()
    assert run.ok, run.state
    if shape == "chain":
        return run.tasks[f"inc_body__{n - 2}" if n > 2 else "inc_body"].result
    return run.tasks["total_body"].result


def run_dagshift_cluster(shape: str, n: int) -> int:
    run = _dagshift_flow(shape, n).run(cluster=os.environ.get("BENCH_CLUSTER", "local:2"))
    assert run.ok, run.state
    return expected(shape, n)


def run_prefect(shape: str, n: int) -> int:
    from prefect import flow, task

    one, inc, total = (task(f) for f in (one_body, inc_body, total_body))

    @flow(name=f"{shape}{n}", log_prints=False)
    def chain_or_fan():
        v = one.submit()
        if shape == "chain":
            for _ in range(n - 1):
                v = inc.submit(v)
            return v.result()
        return total.submit([inc.submit(v) for _ in range(n - 2)]).result()

    return chain_or_fan()


def write_airflow_dag(path: str, shape: str, n: int) -> None:
    """An Airflow 3-style DAG file: PythonOperators that pull their inputs from XCom."""
    lines = [
        "from airflow.sdk import DAG",
        "from airflow.providers.standard.operators.python import PythonOperator",
        "import sys",
        f"sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})",
        "from engines import one_body, inc_body, total_body",
        "",
        "def _inc(ti, up):",
        "    return inc_body(ti.xcom_pull(task_ids=up))",
        "",
        "def _total(ti, ups):",
        "    return total_body(ti.xcom_pull(task_ids=ups))",
        "",
        f"with DAG('{shape}{n}', schedule=None, catchup=False) as dag:",
        "    t0 = PythonOperator(task_id='t0', python_callable=one_body)",
    ]
    if shape == "chain":
        lines += [
            "    prev = t0",
            f"    for i in range(1, {n}):",
            "        t = PythonOperator(task_id=f't{i}', python_callable=_inc,",
            "                           op_kwargs={'up': prev.task_id})",
            "        prev >> t",
            "        prev = t",
        ]
    else:
        lines += [
            f"    mids = [PythonOperator(task_id=f'm{{i}}', python_callable=_inc,"
            f" op_kwargs={{'up': 't0'}}) for i in range({n - 2})]",
            "    last = PythonOperator(task_id='total', python_callable=_total,",
            "                          op_kwargs={'ups': [m.task_id for m in mids]})",
            "    t0 >> mids >> last",
        ]
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")


def run_dagshift_shim(shape: str, n: int, dag_file: str) -> int:
    """The Airflow DAG file (the one Airflow runs) through dagshift's import shim, in process.

    Loading the file is this engine's definition step, as building the flow is dagshift's: both
    are timed, so a warm run re-loads the file and runs it again.
    """
    import dagshift.compat
    from dagshift.runtime.loader import load_path

    dagshift.compat.install()
    (flow,) = load_path(dag_file)
    run = flow.run()
    assert run.ok, run.state
    return run.tasks[f"t{n - 1}" if shape == "chain" else "total"].result


def run_airflow(shape: str, n: int, dag_file: str, date: str = "2024-01-01") -> int:
    import importlib.util

    import pendulum

    spec = importlib.util.spec_from_file_location(f"bench_dag_{date}", dag_file)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    dr = mod.dag.test(logical_date=pendulum.parse(date))
    assert str(dr.state).endswith("success"), dr.state
    return expected(shape, n)


ENGINES = {
    "python": run_python,
    "dask-graph": run_dask_graph,
    "dask-delayed": run_dask_delayed,
    "dagshift": run_dagshift,
    "dagshift-cluster": run_dagshift_cluster,
    "prefect": run_prefect,
}


def _engine(engine: str, dag_file: str | None):
    if engine == "dagshift-shim":
        return lambda shape, n: run_dagshift_shim(shape, n, dag_file)
    return ENGINES[engine]


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def data_exchange(engine: str, mb: int) -> dict:
    """Pass an ``mb``-megabyte array from one task to the next; the consumer returns its size."""

    # bytes, not numpy (not a dependency here): every page is written, so RSS counts it.
    def make():
        return b"\x01" * (mb * 2**20)

    def size(a):
        return len(a)

    start = time.perf_counter()
    if engine in ("dagshift", "dagshift-cluster"):
        from dagshift import Flow, task

        with Flow("exchange") as flow:
            task(size)(task(make)())
        if engine == "dagshift":
            run = flow.run()
        else:
            run = flow.run(cluster="local:2")
        assert run.ok, run.state
        got = run.tasks["size"].result
    elif engine == "python":
        got = size(make())
    else:
        raise SystemExit(f"no data-exchange runner for {engine}")
    wall = time.perf_counter() - start
    assert got == mb * 2**20, got
    return {
        "wall_s": wall,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_child_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def write_airflow_data_dag(path: str, mb: int) -> None:
    with open(path, "w") as fh:
        fh.write(
            "from airflow.sdk import DAG\n"
            "from airflow.providers.standard.operators.python import PythonOperator\n"
            "def make():\n"
            f"    return 'x' * ({mb} * 2**20)\n"
            "def size(ti):\n"
            "    return len(ti.xcom_pull(task_ids='make'))\n"
            "with DAG('exchange', schedule=None, catchup=False) as dag:\n"
            "    PythonOperator(task_id='make', python_callable=make) >> "
            "PythonOperator(task_id='size', python_callable=size)\n"
        )


def scale(n: int, runs: int) -> dict:
    """A fan-out of ``n`` tasks, and ``runs`` concurrent runs of a 10-task flow."""
    from concurrent.futures import ThreadPoolExecutor

    import dagshift  # noqa: F401  (imports are not the flow's cost)

    out = {}
    base = _rss_mb()
    start = time.perf_counter()
    flow = _dagshift_flow("fan", n)
    out["define_s"] = time.perf_counter() - start
    out["defined_rss_per_task_kb"] = (_rss_mb() - base) * 1024 / n
    start = time.perf_counter()
    run = flow.run()
    out["run_s"] = time.perf_counter() - start
    assert run.ok and run.tasks["total_body"].result == expected("fan", n)
    out["run_rss_per_task_kb"] = (
        (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - base) * 1024 / n
    )
    del run, flow
    small = _dagshift_flow("fan", 10)
    small.run()
    start = time.perf_counter()
    with ThreadPoolExecutor(runs) as pool:
        results = list(pool.map(lambda _: small.run(), range(runs)))
    out["concurrent_runs_s"] = time.perf_counter() - start
    out["concurrent_runs_ok"] = sum(r.ok for r in results)
    start = time.perf_counter()
    for _ in range(runs):
        small.run()
    out["sequential_runs_s"] = time.perf_counter() - start
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main(argv: list[str]) -> None:
    if argv[0] == "data":
        print("BENCH " + json.dumps(data_exchange(argv[1], int(argv[2]))), flush=True)
        return
    if argv[0] == "scale":
        print("BENCH " + json.dumps(scale(int(argv[1]), int(argv[2]))), flush=True)
        return
    engine, shape, n = argv[0], argv[1], int(argv[2])
    dag_file = argv[4] if len(argv) > 4 and argv[3] == "--dag-file" else None
    t_start = float(os.environ.get("BENCH_T0", time.time()))
    out: dict = {"engine": engine, "shape": shape, "tasks": n}
    start = time.perf_counter()
    if engine == "airflow":
        run_airflow(shape, n, dag_file)
    else:
        value = _engine(engine, dag_file)(shape, n)
        assert value == expected(shape, n), (value, expected(shape, n))
    out["cold_s"] = time.perf_counter() - start
    end = time.time()
    if engine != "airflow" or os.environ.get("BENCH_WARM") == "1":
        start = time.perf_counter()
        if engine == "airflow":
            run_airflow(shape, n, dag_file, "2024-01-02")
        else:
            _engine(engine, dag_file)(shape, n)
        out["warm_s"] = time.perf_counter() - start
    mark = os.environ.get("BENCH_MARK")
    if mark and os.path.exists(mark):
        first = float(open(mark).read())
        out["startup_s"] = first - t_start
        out["after_first_s"] = end - first
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("BENCH " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
