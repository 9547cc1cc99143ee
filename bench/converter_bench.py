"""Files per second of ``dagshift migrate`` over the installed Airflow example DAGs.

Compares ``--jobs 1`` and ``--jobs 2`` (``--check``, so nothing is written) with a bare libcst
parse and print of the same files (the floor). Run: ``.venv/bin/python bench/converter_bench.py``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import time
from pathlib import Path

import libcst as cst

from dagshift.converter.cli import main


def _corpus() -> list[Path]:
    spec = importlib.util.find_spec("airflow")
    roots = [Path(p) for p in spec.submodule_search_locations]
    return sorted({p for r in roots for p in r.rglob("example_dags/**/*.py")})


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(repeat: int = 3) -> None:
    files = _corpus()
    texts = [f.read_text() for f in files]

    def floor() -> None:
        for text in texts:
            cst.parse_module(text).code  # noqa: B018  (the print half of the floor)

    rows = [("libcst parse + print", min(_timed(floor) for _ in range(repeat)))]
    for jobs in (1, 2):
        args = [str(f) for f in files] + ["--check", "--jobs", str(jobs)]
        with contextlib.redirect_stderr(io.StringIO()):
            best = min(_timed(lambda a=args: main(a)) for _ in range(repeat))
        rows.append((f"dagshift migrate --jobs {jobs}", best))
    print(f"{len(files)} files")
    for name, seconds in rows:
        print(f"{name:28s} {len(files) / seconds:8.1f} files/s  ({seconds:.2f} s)")


if __name__ == "__main__":
    run()
