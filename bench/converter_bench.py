"""Files per second of ``dagshift migrate`` over the real corpus of Airflow example DAGs.

The corpus: the example DAGs of the installed apache-airflow (3.x, with its standard provider)
and of apache-airflow 1.10.15, 2.0.2 and 2.11.0 (the wheels the corpus test caches in
``~/.cache/dagshift/corpus``), copied to a temporary folder. Compares ``--jobs 1`` and
``--jobs 2`` (``--check``, so nothing is written; each changed file is converted twice, the
second time to check the output is stable) with a bare libcst parse and print of the same
files (the floor). Run: ``.venv/bin/python bench/converter_bench.py``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import tempfile
import time
import zipfile
from pathlib import Path

import libcst as cst

from dagshift.converter.cli import main

CACHE = Path.home() / ".cache" / "dagshift" / "corpus"


def _corpus(into: Path) -> list[Path]:
    spec = importlib.util.find_spec("airflow")
    roots = [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
    files = sorted({p for r in roots for p in r.rglob("example_dags/**/*.py")})
    for wheel in sorted(CACHE.glob("apache_airflow-*.whl")):
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


def run(repeat: int = 3) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        files = _corpus(Path(tmp))
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
        ratio = seconds / rows[0][1]
        print(
            f"{name:28s} {len(files) / seconds:8.1f} files/s  ({seconds:.2f} s, {ratio:.1f}x floor)"
        )


if __name__ == "__main__":
    run()
