"""Files per second of ``dagshift migrate`` over the real corpus of Airflow example DAGs.

The corpus: the example DAGs of the installed apache-airflow (3.x, with its standard provider)
and of apache-airflow 1.10.15, 2.0.2 and 2.11.0 (fetched and cached as the corpus test does, in
``~/.cache/dagshift/corpus``), copied to a temporary folder. Compares ``--jobs 1``,
``--jobs 2`` and the default ``--jobs 0`` (``--check``, so nothing is written; each changed
file is converted twice, the second time to check the output is stable) with a bare libcst
parse and print of the same files (the floor). Run: ``.venv/bin/python
bench/converter_bench.py``.
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import io
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import libcst as cst

from dagshift.converter.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.converter.test_corpus import VERSIONS, _wheel  # noqa: E402  (the test's own corpus)


def _corpus(into: Path) -> list[Path]:
    spec = importlib.machinery.PathFinder.find_spec("airflow")  # not the compat shim's
    roots = [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
    files = sorted({p for r in roots for p in r.rglob("example_dags/**/*.py")})
    for version in VERSIONS:
        wheel = _wheel(version)  # fetched with pip download once, cached outside the repository
        if wheel is None:
            print(f"apache-airflow {version} could not be fetched: not in the corpus")
            continue
        with zipfile.ZipFile(wheel) as zf:
            for name in zf.namelist():
                if "example_dags/" in name and name.endswith(".py"):
                    target = into / wheel.stem / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(zf.read(name))
                    files.append(target)
    return files


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(rounds: int = 5) -> None:
    """Rounds interleave the floor and each case; the ratio to the floor is taken within a
    round (this shared machine's speed drifts by tens of percent over minutes), then the
    median over the rounds."""
    with tempfile.TemporaryDirectory() as tmp:
        files = _corpus(Path(tmp))
        texts = [f.read_text() for f in files]

        def floor() -> None:
            for text in texts:
                cst.parse_module(text).code  # noqa: B018  (the print half of the floor)

        cases = {"libcst parse + print": floor}
        for jobs in ("1", "2", "0"):
            args = [str(f) for f in files] + ["--check", "--jobs", jobs]
            cases[f"dagshift migrate --jobs {jobs}"] = lambda a=args: main(a)
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(rounds):
            for name, fn in cases.items():
                with contextlib.redirect_stderr(io.StringIO()):
                    times[name].append(_timed(fn))
    print(f"{len(files)} files, {rounds} rounds (median); --jobs 0 is the default, one per CPU")
    floors = times["libcst parse + print"]
    for name, seconds in times.items():
        best = statistics.median(seconds)
        ratio = statistics.median(s / f for s, f in zip(seconds, floors, strict=True))
        print(f"{name:28s} {len(files) / best:8.1f} files/s  ({best:.2f} s, {ratio:.2f}x floor)")


if __name__ == "__main__":
    run()
