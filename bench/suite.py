"""The benchmark suite: every engine, every size, interleaved, in one session.

Each measurement is a fresh process of ``bench/engines.py`` in the engine's own environment
(Prefect 3 in ``.venv-bench-prefect``, Airflow 3 in the project's ``.venv``), so start-up is
measured honestly and no engine warms another's caches. Repeats loop outermost: round 1 runs
every engine once, then round 2, ... so that load from other users of the machine hits all
engines alike. Figures are medians with min and max; the machine and its load go with them.

    python bench/suite.py [--quick] [--sizes 10,100,1000] [--repeat 5] [--data-mb 1024]
    python bench/suite.py --engines dagshift-shim [--sizes ...] [--repeat ...]   # merge rows

Writes ``bench/results/suite.json``; ``bench/render.py`` turns it into ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PY = os.path.join(ROOT, ".venv", "bin", "python")
PREFECT_PY = os.path.join(ROOT, ".venv-bench-prefect", "bin", "python")
ENGINES_PY = os.path.join(HERE, "engines.py")
# Airflow 3 pays ~5 s per process and ~0.2 s per task: 1,000 tasks x repeats is out of reach.
AIRFLOW_MAX_TASKS = 100
PREFECT_MAX_TASKS = 1000


def machine() -> dict:
    mem = ""
    with open("/proc/meminfo") as fh:
        mem = fh.readline().split()[1]
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "mem_gib": round(int(mem) / 2**20, 1),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def load() -> float:
    return os.getloadavg()[0]


def _call(python: str, args: list[str], env: dict | None = None, timeout: float = 900) -> dict:
    """Run engines.py in a fresh process; return its BENCH line, or {'error': ...}."""
    with tempfile.TemporaryDirectory() as tmp:
        mark = os.path.join(tmp, "first")
        full_env = {**os.environ, **(env or {}), "BENCH_MARK": mark}
        full_env["BENCH_T0"] = repr(time.time())
        try:
            proc = subprocess.run(
                [python, ENGINES_PY, *args],
                capture_output=True,
                text=True,
                env=full_env,
                timeout=timeout,
                cwd=tmp,
            )
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {timeout:.0f} s"}
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH "):
            return json.loads(line[6:])
    tail = (proc.stderr or proc.stdout).strip().splitlines()
    return {"error": tail[-1][:300] if tail else f"exit {proc.returncode}"}


class Airflow:
    """One migrated AIRFLOW_HOME; each DAG file alone in its own DAGs folder."""

    def __init__(self, root: str):
        self.root = root
        self.home = os.path.join(root, "home")
        os.makedirs(self.home, exist_ok=True)
        self.env = {
            "AIRFLOW_HOME": self.home,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        }
        proc = subprocess.run(
            [os.path.join(ROOT, ".venv", "bin", "airflow"), "db", "migrate"],
            env={**os.environ, **self.env, "AIRFLOW__CORE__DAGS_FOLDER": self.home},
            capture_output=True,
            text=True,
        )
        self.ok = proc.returncode == 0
        self.reason = "" if self.ok else proc.stderr.strip().splitlines()[-1][:200]

    def dag(self, name: str, write) -> tuple[str, dict]:
        folder = os.path.join(self.root, "dags", name)
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, f"{name}.py")
        write(path)
        return path, {**self.env, "AIRFLOW__CORE__DAGS_FOLDER": folder}


def _shim_available() -> bool:
    probe = "import dagshift.compat as c; assert hasattr(c, 'install')"
    return subprocess.run([PY, "-c", probe], capture_output=True).returncode == 0


def _summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


ENGINES = (
    "python",
    "dask-graph",
    "dask-delayed",
    "dagshift",
    "dagshift-shim",
    "prefect",
    "airflow",
)


def runtime(
    sizes: list[int],
    repeat: int,
    af: Airflow | None,
    log,
    root: str,
    engines: tuple[str, ...] = ENGINES,
) -> list[dict]:
    sys.path.insert(0, HERE)
    from engines import write_airflow_dag

    shim = _shim_available()
    cases, skipped = [], []
    for shape in ("chain", "fan"):
        for n in sizes:
            # The same Airflow DAG file for the shim and for Airflow, in its own DAGs folder.
            if af is not None and af.ok:
                dag_path, af_env = af.dag(
                    f"{shape}{n}", lambda p, s=shape, k=n: write_airflow_dag(p, s, k)
                )
            else:
                dag_path, af_env = os.path.join(root, f"{shape}{n}.py"), {}
                write_airflow_dag(dag_path, shape, n)
            for engine in ("python", "dask-graph", "dask-delayed", "dagshift"):
                cases.append((engine, shape, n, PY, [], {}))
            if shim:
                cases.append(("dagshift-shim", shape, n, PY, ["--dag-file", dag_path], {}))
            else:
                skipped.append(("dagshift-shim", shape, n, "the import shim is not available yet"))
            if not os.path.exists(PREFECT_PY):
                skipped.append(("prefect", shape, n, "no .venv-bench-prefect (run bench/setup.sh)"))
            elif n > PREFECT_MAX_TASKS:
                skipped.append(("prefect", shape, n, f"above {PREFECT_MAX_TASKS} tasks"))
            else:
                prefect_env = {"PREFECT_HOME": os.path.join(tempfile.gettempdir(), "bench-prefect")}
                cases.append(("prefect", shape, n, PREFECT_PY, [], prefect_env))
            if af is None or not af.ok:
                skipped.append(("airflow", shape, n, af.reason if af else "not requested"))
            elif n > AIRFLOW_MAX_TASKS:
                skipped.append(
                    (
                        "airflow",
                        shape,
                        n,
                        "~0.2 s per task and ~5 s per process: not finished "
                        f"in reasonable time above {AIRFLOW_MAX_TASKS} tasks",
                    )
                )
            else:
                cases.append(("airflow", shape, n, PY, ["--dag-file", dag_path], af_env))
    cases = [c for c in cases if c[0] in engines]
    skipped = [s for s in skipped if s[0] in engines]
    samples: dict = {}
    for r in range(repeat):
        for engine, shape, n, python, extra, env in cases:
            out = _call(python, [engine, shape, str(n), *extra], env)
            out["load"] = load()
            samples.setdefault((engine, shape, n), []).append(out)
            log(
                f"round {r + 1}/{repeat} {engine:<16} {shape:<5} {n:>6}: "
                + (out.get("error") or f"{out['cold_s']:.3f} s (load {out['load']:.2f})")
            )
    rows = []
    for (engine, shape, n), outs in samples.items():
        good = [o for o in outs if "error" not in o]
        row = {
            "engine": engine,
            "shape": shape,
            "tasks": n,
            "runs": len(good),
            "load": _summary([o["load"] for o in outs]),
        }
        if not good:
            row["error"] = outs[0]["error"]
        else:
            # Per-task cost: a warm second run when the engine had one, else first body to end.
            per = [(o.get("warm_s") or o["after_first_s"]) / n for o in good]
            row["per_task_s"] = _summary(per)
            row["per_task_basis"] = "warm run" if "warm_s" in good[0] else "first task to end"
            if all("startup_s" in o for o in good):
                row["startup_s"] = _summary([o["startup_s"] for o in good])
            row["peak_rss_mb"] = _summary([o["peak_rss_mb"] for o in good])
        rows.append(row)
    rows += [{"engine": e, "shape": s, "tasks": n, "skipped": why} for e, s, n, why in skipped]
    return rows


def data_exchange(mb: int, repeat: int, af: Airflow | None, airflow_mb: int, log) -> list[dict]:
    sys.path.insert(0, HERE)
    from engines import write_airflow_data_dag

    samples: dict = {}
    for r in range(repeat):
        for engine in ("python", "dagshift", "dagshift-cluster"):
            out = _call(PY, ["data", engine, str(mb)])
            out["load"] = load()
            samples.setdefault(engine, []).append(out)
            log(f"round {r + 1}/{repeat} data {engine:<16} {mb} MB: {out}")
    rows = []
    for engine, outs in samples.items():
        good = [o for o in outs if "error" not in o]
        row = {"engine": engine, "mb": mb, "runs": len(good)}
        if good:
            row["wall_s"] = _summary([o["wall_s"] for o in good])
            row["peak_rss_mb"] = _summary([o["peak_rss_mb"] for o in good])
            row["peak_worker_rss_mb"] = _summary([o["peak_child_rss_mb"] for o in good])
            row["load"] = _summary([o["load"] for o in good])
        else:
            row["error"] = outs[0]["error"]
        rows.append(row)
    if af is not None and af.ok and airflow_mb:
        path, env = af.dag("exchange", lambda p: write_airflow_data_dag(p, airflow_mb))
        start = time.perf_counter()
        out = _call(PY, ["airflow", "data", str(airflow_mb), "--dag-file", path], env)
        row = {"engine": "airflow-xcom", "mb": airflow_mb, "runs": 1, "load": {"median": load()}}
        if "error" in out:
            row["error"] = out["error"]
        else:
            row["wall_s"] = _summary([time.perf_counter() - start])
            row["peak_rss_mb"] = _summary([out["peak_rss_mb"]])
        log(f"data airflow-xcom {airflow_mb} MB: {out}")
        rows.append(row)
    return rows


def converter(log) -> list[dict]:
    """The converter's own throughput benchmark, when it exists (owned by the converter)."""
    scripts = sorted(glob.glob(os.path.join(HERE, "converter_*.py")))
    if not scripts:
        return [{"skipped": "bench/converter_*.py is not there yet"}]
    rows = []
    for script in scripts:
        proc = subprocess.run([PY, script], capture_output=True, text=True, cwd=ROOT)
        log(f"{os.path.basename(script)}: exit {proc.returncode}")
        rows.append(
            {
                "script": os.path.relpath(script, ROOT),
                "exit": proc.returncode,
                "stdout": proc.stdout[-4000:],
                "stderr": proc.stderr[-1000:],
            }
        )
        result = os.path.join(HERE, "results", os.path.basename(script)[:-3] + ".json")
        if os.path.exists(result):
            with open(result) as fh:
                rows[-1]["result"] = json.load(fh)
    return rows


def engines_only(args: argparse.Namespace, log) -> None:
    """Measure some engines only and merge their rows into an earlier session's results."""
    engines = tuple(e.strip() for e in args.engines.split(",") if e.strip())
    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        raise SystemExit(f"unknown engines {unknown}; known: {', '.join(ENGINES)}")
    session = {"machine": machine(), "load_start": os.getloadavg(), "args": vars(args)}
    root = tempfile.mkdtemp(prefix="dagshift-bench-")
    try:
        af = None if args.no_airflow or "airflow" not in engines else Airflow(root)
        sizes = [int(s) for s in args.sizes.split(",")]
        rows = runtime(sizes, args.repeat, af, log, root, engines)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    session["load_end"] = os.getloadavg()
    result: dict = {"machine": session["machine"], "args": vars(args), "runtime": []}
    if os.path.exists(args.json):
        with open(args.json) as fh:
            result = json.load(fh)
    index = len(result.setdefault("later_sessions", []))
    result["later_sessions"].append({**session, "engines": list(engines)})
    for row in rows:
        row["session"] = index
    result["runtime"] = [r for r in result["runtime"] if r["engine"] not in engines] + rows
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as fh:
        json.dump(result, fh, indent=2)
    log(f"merged {len(rows)} rows of {', '.join(engines)} into {args.json}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data-mb", type=int, default=1024)
    parser.add_argument("--data-repeat", type=int, default=3)
    parser.add_argument(
        "--airflow-data-mb", type=int, default=64, help="size tried for Airflow XCom (0: skip)"
    )
    parser.add_argument("--scale-tasks", type=int, default=10_000)
    parser.add_argument("--scale-runs", type=int, default=200)
    parser.add_argument("--no-airflow", action="store_true")
    parser.add_argument(
        "--engines",
        help="comma-separated engines to measure (runtime section only); their rows replace "
        "those of --json, which keeps the other engines and sections, noted as a later session",
    )
    parser.add_argument("--quick", action="store_true", help="sizes 10,100, 2 repeats, 128 MB")
    parser.add_argument("--json", default=os.path.join(HERE, "results", "suite.json"))
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.repeat, args.data_mb, args.data_repeat = "10,100", 2, 128, 2
        args.scale_tasks, args.scale_runs, args.airflow_data_mb = 1000, 50, 8

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    if args.engines:
        engines_only(args, log)
        return
    result = {"machine": machine(), "load_start": os.getloadavg(), "args": vars(args)}
    root = tempfile.mkdtemp(prefix="dagshift-bench-")
    try:
        af = None if args.no_airflow else Airflow(root)
        sizes = [int(s) for s in args.sizes.split(",")]
        result["runtime"] = runtime(sizes, args.repeat, af, log, root)
        result["data"] = data_exchange(
            args.data_mb, args.data_repeat, af, args.airflow_data_mb, log
        )
        scale = [
            _call(PY, ["scale", str(args.scale_tasks), str(args.scale_runs)])
            for _ in range(args.data_repeat)
        ]
        result["scale"] = {"tasks": args.scale_tasks, "runs": args.scale_runs, "samples": scale}
        log(f"scale: {scale}")
        result["converter"] = converter(log)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    result["load_end"] = os.getloadavg()
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as fh:
        json.dump(result, fh, indent=2)
    log(f"wrote {args.json}")


if __name__ == "__main__":
    main()
