"""Render ``bench/results/suite.json`` into ``docs/benchmarks.md`` and ``docs/benchmarks.png``.

Ratios to the floor (plain Python calls) are the headline; absolute times follow.

    python bench/render.py [--json bench/results/suite.json]
"""

from __future__ import annotations

import argparse
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
DOCS = os.path.join(os.path.dirname(HERE), "docs")
ENGINES = [
    "python",
    "dask-graph",
    "dask-delayed",
    "dagshift",
    "dagshift-shim",
    "prefect",
    "airflow",
]


def _t(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def _mm(summary: dict, fmt=_t) -> str:
    return f"{fmt(summary['median'])} ({fmt(summary['min'])}–{fmt(summary['max'])})"


def _later(rows: list[dict], sessions: list[dict]) -> tuple[dict, list[str]]:
    """Engine name marks and footnotes for rows measured in a later, engine-only session."""
    marks, notes = {}, []
    for i, sess in enumerate(sessions):
        engines = sorted({r["engine"] for r in rows if r.get("session") == i})
        if not engines:
            continue
        mark = "†" * (len(notes) + 1)
        for engine in engines:
            marks[engine] = mark
        a = sess["args"]
        notes.append(
            f"{mark} {', '.join(engines)}: measured later, alone, with "
            f"`bench/suite.py --engines {a['engines']} --sizes {a['sizes']} --repeat {a['repeat']}`"
            f" ({sess['machine']['date']}, load average {sess['load_start'][0]:.2f} at start, "
            f"{sess['load_end'][0]:.2f} at end), not interleaved with the other engines."
        )
    return marks, notes


def runtime_tables(rows: list[dict], sessions: list[dict] | None = None) -> list[str]:
    marks, later = _later(rows, sessions or [])
    by = {(r["engine"], r["shape"], r["tasks"]): r for r in rows}
    sizes = sorted({r["tasks"] for r in rows})
    out = []
    for shape in ("chain", "fan"):
        out += [
            f"### {shape}: per-task cost, ratio to plain Python calls",
            "",
            "| engine | " + " | ".join(f"{n} tasks" for n in sizes) + " |",
            "| --- |" + " --- |" * len(sizes),
        ]
        for engine in ENGINES:
            cells = []
            for n in sizes:
                r = by.get((engine, shape, n))
                floor = by.get(("python", shape, n))
                if r is None:
                    cells.append("–")
                elif "skipped" in r:
                    cells.append("skipped")
                elif "error" in r:
                    cells.append("failed")
                else:
                    ratio = r["per_task_s"]["median"] / floor["per_task_s"]["median"]
                    cells.append(f"**{ratio:,.0f}x** {_mm(r['per_task_s'])}")
            out.append(f"| {engine}{marks.get(engine, '')} | " + " | ".join(cells) + " |")
        out.append("")
    out += [
        "### Start-up: process start to the first task body (median, min–max)",
        "",
        "| engine | " + " | ".join(f"{n} tasks" for n in sizes) + " |",
        "| --- |" + " --- |" * len(sizes),
    ]
    for engine in ENGINES:
        cells = []
        for n in sizes:
            r = by.get((engine, "chain", n))
            cells.append(_mm(r["startup_s"]) if r and "startup_s" in r else "–")
        out.append(f"| {engine}{marks.get(engine, '')} | " + " | ".join(cells) + " |")
    out.append("")
    if later:
        out += [*later, ""]
    notes = sorted(
        {
            f"- {r['engine']} ({r['shape']}, {r['tasks']}): {r['skipped']}"
            for r in rows
            if "skipped" in r
        }
    )
    notes += sorted(
        {
            f"- {r['engine']} ({r['shape']}, {r['tasks']}) failed: {r['error']}"
            for r in rows
            if "error" in r
        }
    )
    if notes:
        out += ["Left out:", "", *notes, ""]
    return out


def data_table(rows: list[dict]) -> list[str]:
    mb = lambda v: f"{v:,.0f} MB"  # noqa: E731
    out = [
        "| engine | data | wall (median, min–max) | peak RSS, driver | peak RSS, largest worker "
        "| driver peak / data |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        if "error" in r:
            out.append(f"| {r['engine']} | {r['mb']} MB | failed: {r['error']} | | | |")
            continue
        worker = _mm(r["peak_worker_rss_mb"], mb) if r.get("peak_worker_rss_mb") else "–"
        ratio = r["peak_rss_mb"]["median"] / r["mb"]
        out.append(
            f"| {r['engine']} | {r['mb']} MB | {_mm(r['wall_s'])} | "
            f"{_mm(r['peak_rss_mb'], mb)} | {worker} | {ratio:.2f} |"
        )
    return out + [""]


def scale_lines(scale: dict) -> list[str]:
    good = [s for s in scale["samples"] if "error" not in s]
    if not good:
        return [f"failed: {scale['samples'][0].get('error')}", ""]
    med = lambda k: sorted(s[k] for s in good)[len(good) // 2]  # noqa: E731
    n, runs = scale["tasks"], scale["runs"]
    return [
        f"- {n:,}-task fan-out/fan-in: defined in {_t(med('define_s'))}, run in "
        f"{_t(med('run_s'))} ({_t(med('run_s') / n)} per task).",
        f"- Memory per task: {med('defined_rss_per_task_kb'):.1f} KB defined, "
        f"{med('run_rss_per_task_kb'):.1f} KB at the run's peak (RSS growth / tasks).",
        f"- {runs} concurrent runs of a 10-task flow (threads): {_t(med('concurrent_runs_s'))}, "
        f"{min(s['concurrent_runs_ok'] for s in good)}/{runs} succeeded; the same {runs} runs "
        f"one after another: {_t(med('sequential_runs_s'))}.",
        f"- ({len(good)} samples, medians.)",
        "",
    ]


def converter_lines(rows: list[dict]) -> list[str]:
    out = []
    for r in rows:
        if "skipped" in r:
            out.append(f"Not measured: {r['skipped']}.")
        else:
            out += [
                f"From `{r['script']}` (the converter's own benchmark):",
                "",
                "```",
                r["stdout"].strip(),
                "```",
            ]
    return out + [""]


SHIM_CASES = [
    ("shim-cli", "`dagshift run` legacy file (shim)"),
    ("flow-cli", "`dagshift run` functional flow"),
    ("shim-inproc", "`flow.run()` in process, legacy file (shim)"),
    ("flow-inproc", "`flow.run()` in process, functional flow"),
    ("airflow", "Airflow 3 `dag.test()`, legacy file"),
]


def shim_lines(res: dict) -> list[str]:
    """The "Import shim" section from ``bench/results/shim_chain.json``."""
    m, a, cases, v = res["machine"], res["args"], res["cases"], res["verdict"]
    n = a["tasks"]
    out = [
        "## Import shim",
        "",
        f"`bench/shim_chain.py`: a generated {n}-task chain of PythonOperators in an Airflow "
        "2-style file (`from airflow import DAG`, `a >> b`, each task pulls its upstream's value "
        "from XCom), the same chain as a functional dagshift flow, and real Airflow 3 "
        "`dag.test()` on the legacy file in a fresh `AIRFLOW_HOME`. Each figure: median "
        "(min–max) of fresh processes, cases interleaved round by round; "
        f"{m['cpus']} CPUs, {m['date']}, {m['shared']} (load average "
        f"{res['load_start'][0]:.2f} at start, {res['load_end'][0]:.2f} at end).",
        "",
        "| case | runs | process start → first task body | per task: (run − bodies) / N "
        "| per task: first → last body | per task, warm 2nd run |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for key, label in SHIM_CASES:
        c = cases.get(key)
        if c is None:
            continue
        if "error" in c:
            out.append(f"| {label} | 0 | failed: {c['error']} | | | |")
            continue
        warm = _mm(c["warm_per_task_s"]) if "warm_per_task_s" in c else "–"
        out.append(
            f"| {label} | {c['runs']} | {_mm(c['startup_s'])} | {_mm(c['per_task_s'])} | "
            f"{_mm(c['span_per_task_s'])} | {warm} |"
        )
    ok = lambda met: "met" if met else "**missed**"  # noqa: E731
    out += [
        "",
        "Run time is the history database's run start to end for `dagshift run` (which records "
        "the run and checkpoints every result), the wall time of `flow.run()` / `dag.test()` "
        f"in process; the bodies' own cost ({_t(res['body_cost_s'])} for all {n}) is taken off.",
        "",
        f"- Target per-task overhead within {res['targets']['per_task_ratio_max']:.0f}x of the "
        f"runtime's: `dagshift run` shim / functional = "
        f"{v['per_task_ratio_shim_to_flow']:.2f}x, {ok(v['per_task_target_met'])}",
    ]
    if "warm_per_task_ratio_shim_to_flow" in v:
        out[-1] += (
            f"; without the history database (`flow.run()`, warm) "
            f"{v['warm_per_task_ratio_shim_to_flow']:.2f}x"
            + (
                ", above the target"
                if v["warm_per_task_ratio_shim_to_flow"] > res["targets"]["per_task_ratio_max"]
                else ""
            )
            + "."
        )
    out.append(
        f"- Target under {res['targets']['startup_s_max']:.1f} s from process start to the "
        f"first task: {_t(v['startup_s'])}, {ok(v['startup_target_met'])}."
    )
    if "airflow_per_task_to_shim" in v:
        out.append(
            f"- Airflow 3 `dag.test()` on the same file: {v['airflow_per_task_to_shim']:.0f}x "
            f"the shim's per-task time, {v['airflow_startup_to_shim']:.1f}x its start-up."
        )
    probes = res.get("import_probes_s", {})
    if probes:
        out += [
            "",
            "Where start-up goes: fresh processes that only import (median, min–max), and the "
            "largest imports of one `python -X importtime -m dagshift run` of the legacy file "
            "(cumulative, inflated by -X importtime itself):",
            "",
            "| fresh process | wall |",
            "| --- | --- |",
            *[f"| `{label}` | {_mm(s)} |" for label, s in probes.items()],
        ]
    imp = res.get("importtime")
    if imp and imp.get("package_entries"):
        top = [r for r in imp["package_entries"] if r["cumulative_s"] >= 0.02][:8]
        out += [
            "",
            "| package entered (-X importtime) | imported by | cumulative |",
            "| --- | --- | --- |",
            *[
                f"| `{r['package']}` | `{r['imported_by']}` | {_t(r['cumulative_s'])} |"
                for r in top
            ],
            "",
            f"All imports together: {_t(imp['total_import_s'])} over {imp['modules']} modules; "
            "own time by package: "
            + ", ".join(f"{k} {_t(t)}" for k, t in list(imp["self_by_package"].items())[:6])
            + ".",
        ]
    return out + [""]


def concurrency_lines(res: dict, has_plot: bool) -> list[str]:
    """The "Many runs at once" section from ``bench/results/concurrency.json``."""
    m = res["machine"]
    if "runs_of_script" in m:  # several runs of the script, combined row by row
        load = (
            f"load average {m['load'][0]}-{m['load'][1]} at the starts of its runs, "
            f"{m['load_end'][0]}-{m['load_end'][1]} at their ends"
        )
        how = (
            f"medians of {m['runs_of_script']} runs of the script, each of them medians of "
            "interleaved rounds"
        )
    else:
        load = f"load average at start {m.get('load', ['?'])[0]}" + (
            f", at end {m['load_end'][0]}" if "load_end" in m else ""
        )
        how = "medians of interleaved rounds"
    out = [
        "## Many runs at once, and recorded runs",
        "",
        f"`python bench/concurrency.py` ({m['cpus']} CPUs, Python {m['python']}, "
        f"{m.get('date', '')}; {load}"
        + (f"; --repeat {m['repeat']}" if "repeat" in m else "")
        + f"): one process, {how} (at least 200 runs' worth for few runs; recorded samples of "
        "2,000 tasks at least; a ratio is the median of the rounds' own ratios).",
        "",
    ]
    if has_plot:
        out += ["![runs at once, recorded runs](concurrency.png)", ""]
    out += [
        "N runs of a 10-task chain of trivial tasks started at once from N threads, against the "
        "same N runs one after another in one thread started the same way (so both sides pay "
        "the same thread wake-up and join; target: at once / in turn <= 1.2):",
        "",
        "| runs | in turn | runs/s | at once | runs/s | at once / in turn |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in res["concurrency"]:
        out.append(
            f"| {r['runs']} | {_t(r['in_turn_s'])} | {r['in_turn_runs_per_s']:.0f} | "
            f"{_t(r['concurrent_s'])} | {r['concurrent_runs_per_s']:.0f} | "
            f"{r['concurrent_over_in_turn']:.2f} |"
        )
    floor = res.get("harness")
    if floor:
        out += [
            "",
            "The same threads on plain Python code that spins as long as one run (no dagshift: "
            "what thread wake-ups and the GIL cost by themselves on this machine), at once / in "
            "turn: "
            + ", ".join(f"{r['concurrent_over_in_turn']:.2f}" for r in floor)
            + " for "
            + ", ".join(str(r["runs"]) for r in floor)
            + " runs.",
        ]
    io = res.get("io_overlap")
    if io:
        out += [
            "",
            f"Tasks that sleep (3 tasks of 0.2 s, two in parallel): one run {_t(io['one_run_s'])}, "
            f"50 runs at once {_t(io['fifty_at_once_s'])}.",
        ]
    out += [
        "",
        "Per-task cost of a recorded run (`run_recorded`: history in SQLite, every result "
        "checkpointed) against `flow.run()` without records, side by side (target <= 2.0); "
        "the last column divides the process's CPU time instead (the writer's thread "
        "included), which the other sessions of a shared machine do not inflate:",
        "",
        "| shape | tasks | unrecorded | recorded | recorded / unrecorded | in CPU time |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in res["recorded"]:
        cpu = r.get("recorded_over_unrecorded_cpu")
        out.append(
            f"| {r['shape']} | {r['tasks']} | {r['unrecorded_ms_per_task']:.3f} ms | "
            f"{r['recorded_ms_per_task']:.3f} ms | {r['recorded_over_unrecorded']:.2f} | "
            + (f"{cpu:.2f} |" if cpu is not None else "|")
        )
    before = res.get("before")
    if before:
        out += ["", f"Before this work: {before}"]
    soak = res.get("soak")
    if soak:
        out += ["", f"Soak (tests/history/test_soak.py): {soak}"]
    return out + [""]


def plot_concurrency(res: dict, path: str) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    runs = [r["runs"] for r in res["concurrency"]]
    left.plot(runs, [r["in_turn_runs_per_s"] for r in res["concurrency"]], marker="o",
              label="in turn")  # fmt: skip
    left.plot(runs, [r["concurrent_runs_per_s"] for r in res["concurrency"]], marker="o",
              label="at once")  # fmt: skip
    left.set_xscale("log")
    left.set_title("runs per second (10-task runs)")
    left.set_xlabel("runs")
    left.legend(fontsize=8)
    for shape in ("chain", "fan"):
        rows = [r for r in res["recorded"] if r["shape"] == shape]
        tasks = [r["tasks"] for r in rows]
        right.plot(tasks, [r["unrecorded_ms_per_task"] for r in rows], marker="o",
                   label=f"{shape} unrecorded")  # fmt: skip
        right.plot(tasks, [r["recorded_ms_per_task"] for r in rows], marker="s",
                   label=f"{shape} recorded")  # fmt: skip
    right.set_xscale("log")
    right.set_title("ms per task, recorded vs not")
    right.set_xlabel("tasks")
    right.legend(fontsize=8)
    for ax in (left, right):
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def plot(rows: list[dict], path: str) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for ax, shape in zip(axes, ("chain", "fan"), strict=True):
        for engine in ENGINES:
            pts = sorted(
                (r["tasks"], r["per_task_s"]["median"])
                for r in rows
                if r["engine"] == engine and r["shape"] == shape and "per_task_s" in r
            )
            if pts:
                ax.plot(*zip(*pts, strict=True), marker="o", label=engine)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{shape}: per-task cost (median)")
        ax.set_xlabel("tasks")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("seconds per task")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=os.path.join(HERE, "results", "suite.json"))
    parser.add_argument("--out", default=os.path.join(DOCS, "benchmarks.md"))
    parser.add_argument("--shim-json", default=os.path.join(HERE, "results", "shim_chain.json"))
    parser.add_argument(
        "--concurrency-json", default=os.path.join(HERE, "results", "concurrency.json")
    )
    args = parser.parse_args()
    with open(args.json) as fh:
        res = json.load(fh)
    m, a = res["machine"], res["args"]
    png = os.path.join(os.path.dirname(args.out), "benchmarks.png")
    has_plot = plot(res["runtime"], png)
    if not has_plot and os.path.exists(png):
        print(f"matplotlib is missing: {png} kept as it was, not redrawn")
        has_plot = True
    lines = [
        "# Benchmarks",
        "",
        "Reproduce with one command: `make bench` (it creates `.venv-bench-prefect` with Prefect 3 "
        "and runs Airflow 3 from the project's `.venv` in subprocesses), then "
        "`python bench/render.py` to rebuild this page.",
        "",
        f"Machine: {m['cpus']} CPUs, {m['mem_gib']} GiB, {m['machine']}, Python {m['python']}, "
        f"{m['date']}. Load average (1 min) at start {res['load_start'][0]:.2f}, at end "
        f"{res['load_end'][0]:.2f}: the machine was shared, so read ratios, not absolute times.",
        f"Every figure is the median of {a['repeat']} fresh processes per engine (min–max in "
        "brackets), engines interleaved round by round in one session.",
        "",
        "Per-task cost = time from defining the graph to having the result, divided by tasks, "
        "taken on a warm second run in the same process (for Airflow, which runs "
        "once per process: from the first task body to the end). The floor is plain Python calls "
        "of the same bodies.",
        "",
        "## Runtime overhead",
        "",
    ]
    if has_plot:
        lines += ["![per-task cost](benchmarks.png)", ""]
    lines += runtime_tables(res["runtime"], res.get("later_sessions"))
    lines += [
        "## Data exchange",
        "",
        "One task returns a bytes object, the next takes its size. "
        "Peak RSS from `getrusage` in a fresh process per engine (workers: their children).",
        "",
        *data_table(res["data"]),
    ]
    lines += ["## Scale (dagshift, local threads)", "", *scale_lines(res["scale"])]
    lines += ["## Converter", "", *converter_lines(res["converter"])]
    if os.path.exists(args.shim_json):
        with open(args.shim_json) as fh:
            lines += shim_lines(json.load(fh))
    if os.path.exists(args.concurrency_json):
        with open(args.concurrency_json) as fh:
            conc = json.load(fh)
        conc_png = os.path.join(os.path.dirname(args.out), "concurrency.png")
        drawn = plot_concurrency(conc, conc_png) or os.path.exists(conc_png)
        lines += concurrency_lines(conc, drawn)
    with open(args.out, "w") as fh:
        fh.write("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
