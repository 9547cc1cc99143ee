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


def runtime_tables(rows: list[dict]) -> list[str]:
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
            out.append(f"| {engine} | " + " | ".join(cells) + " |")
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
        out.append(f"| {engine} | " + " | ".join(cells) + " |")
    out.append("")
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
    args = parser.parse_args()
    with open(args.json) as fh:
        res = json.load(fh)
    m, a = res["machine"], res["args"]
    png = os.path.join(os.path.dirname(args.out), "benchmarks.png")
    has_plot = plot(res["runtime"], png)
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
        "taken on a warm second run in the same process (for Airflow and the shim, which run "
        "once per process: from the first task body to the end). The floor is plain Python calls "
        "of the same bodies.",
        "",
        "## Runtime overhead",
        "",
    ]
    if has_plot:
        lines += ["![per-task cost](benchmarks.png)", ""]
    lines += runtime_tables(res["runtime"])
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
    with open(args.out, "w") as fh:
        fh.write("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
