"""``dagshift migrate --verify`` over the real corpus: every converted file run beside its original.

The corpus is the corpus test's (tests/converter/test_corpus.py: Airflow's example DAGs of every
generation and of older provider releases), copied to a temporary folder with each release's own
layout (sibling modules such as ``subdags/`` stay beside the files importing them). Every file is
converted, and each converted file is loaded beside its original (through the shim) and both are
run at 2024-01-15, each run limited by ``--verify-timeout``. This imports and runs the example
code, as ``--verify`` does: run it on a machine where that is safe (no cloud credentials).

Prints, for the converted files: verified, differing (with the differences), originals that do not
load here (a provider or module this machine lacks), not verified in the time limit, not run (a
required parameter). Run: ``.venv/bin/python bench/corpus_verify.py [--timeout SECONDS]``.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.converter.test_corpus import CORPUS, _sources  # noqa: E402  (the test's own corpus)


def _relative(name: str) -> str:
    """A corpus file's path inside its release (``airflow/example_dags/x.py``)."""
    at = name.find("airflow/")
    return name[at:] if at >= 0 else Path(name).name


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dagshift-corpus-") as tmp:
        base = Path(tmp) / "corpus"
        for release in CORPUS:
            folder = base / re.sub(r"\W", "_", release)
            for name, source in _sources(release):
                path = folder / _relative(name)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(source)
        report = Path(tmp) / "report.json"
        started = time.monotonic()
        done = subprocess.run(
            [
                str(ROOT / ".venv" / "bin" / "dagshift"),
                "migrate",
                str(base),
                "--out",
                str(Path(tmp) / "out"),
                "--verify",
                "--verify-timeout",
                str(args.timeout),
                "--verify-date",
                "2024-01-15",
                "--report",
                str(report),
            ],
            capture_output=True,
            text=True,
            cwd=tmp,
        )
        took = time.monotonic() - started
        files = json.loads(report.read_text())["files"]
    outcome: Counter[str] = Counter()
    differing: list[str] = []
    for entry in files:
        if entry["status"] != "converted":
            continue
        checks = entry.get("verification") or []
        kinds = {d["kind"] for c in checks for d in c["differences"]}
        short = entry["path"].split("/corpus/", 1)[-1]
        if checks and all(c["ok"] for c in checks):
            outcome["verified"] += 1
        elif "load" in kinds:
            outcome["original does not load here"] += 1
        elif "time_limit" in kinds:
            outcome["not verified in the time limit"] += 1
        elif "parameters" in kinds:
            outcome["not run: a required parameter"] += 1
        else:
            outcome["differ"] += 1
            differing += [f"  {short}: {d['message']}" for c in checks for d in c["differences"]]
    print(
        f"converted files: {sum(outcome.values())}; migrate --verify took {took:.0f} s "
        f"(exit {done.returncode}), each run limited to {args.timeout:g} s"
    )
    for key, n in outcome.most_common():
        print(f"  {key}: {n}")
    print("\n".join(differing))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
