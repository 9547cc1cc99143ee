"""Real-corpus test: example DAGs shipped with Airflow 1.10.15, 2.0.2 and 2.11.0, with the
installed apache-airflow 3.x and its standard provider, and with older releases of provider
packages (``PROVIDERS``: releases from before the examples moved to Airflow's system tests, which
ship ``example_dags/``).

The wheels are fetched with ``pip download --no-deps`` at test time and cached in
``~/.cache/dagshift/corpus`` (never in the repository); the test skips when they cannot be had.
``python tests/converter/test_corpus.py`` prints how many files get each status.
"""

from __future__ import annotations

import ast
import importlib.machinery
import re
import subprocess
import sys
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import libcst as cst
import pytest

from dagshift.converter.convert import convert_source

CACHE = Path.home() / ".cache" / "dagshift" / "corpus"
VERSIONS = ("1.10.15", "2.0.2", "2.11.0")
# provider releases that ship example_dags/ (the last ones before the examples moved out): the
# operators real repositories use most (cloud, databases, containers, HTTP, chat)
PROVIDERS = (
    "apache-airflow-providers-amazon==2.4.0",
    "apache-airflow-providers-apache-spark==2.0.3",
    "apache-airflow-providers-cncf-kubernetes==2.2.0",
    "apache-airflow-providers-docker==2.7.0",
    "apache-airflow-providers-http==2.1.2",
    "apache-airflow-providers-jdbc==2.0.1",
    "apache-airflow-providers-mysql==2.2.3",
    "apache-airflow-providers-papermill==2.1.0",
    "apache-airflow-providers-postgres==4.1.0",
    "apache-airflow-providers-slack==4.2.3",
    "apache-airflow-providers-sqlite==2.1.3",
)
CORPUS = (*VERSIONS, "installed", *PROVIDERS)
STATUSES = {"converted", "partial", "unchanged", "not_a_dag"}


def _wheel(version: str) -> Path | None:
    """The wheel of ``apache-airflow==version``, or of a requirement ``name==version``."""
    name, _, number = version.rpartition("==")
    requirement = version if name else f"apache-airflow=={version}"
    pattern = f"{(name or 'apache-airflow').replace('-', '_')}-{number}-*.whl"
    found = sorted(CACHE.glob(pattern))
    if not found:
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                "--only-binary=:all:",
                "-d",
                str(CACHE),
                requirement,
            ],
            capture_output=True,
            timeout=300,
            check=False,
        )
        found = sorted(CACHE.glob(pattern))
    return found[0] if found else None


def _sources(version: str) -> Iterator[tuple[str, str]]:
    """(name, source) of every example DAG of one release, or of the installed package."""
    if version == "installed":
        # sys.path only: the compat shim, when a test in this process installed it, serves
        # `airflow` from a finder in sys.meta_path, with no example DAGs
        spec = importlib.machinery.PathFinder.find_spec("airflow")
        roots = [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
        for path in sorted({p for r in roots for p in r.rglob("example_dags/**/*.py")}):
            yield str(path), path.read_text()
        return
    wheel = _wheel(version)
    if wheel is None:
        return
    with zipfile.ZipFile(wheel) as zf:
        for name in zf.namelist():
            if "example_dags/" in name and name.endswith(".py"):
                yield name, zf.read(name).decode("utf-8")


def _check(version: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for name, source in _sources(version):
        result = convert_source(source)
        assert result.status in STATUSES, name
        cst.parse_module(result.code)
        ast.parse(result.code)  # also for this Python, not only for libcst's grammar
        assert convert_source(result.code).code == result.code, name
        if result.status == "partial":
            assert "# dagshift: TODO(" in result.code, name
        counts[result.status] += 1
    return counts


@pytest.mark.parametrize("version", CORPUS)
def test_every_example_dag_of_an_airflow_release_converts_stably(version: str) -> None:
    counts = _check(version)
    if not counts:
        pytest.skip(f"no example DAGs of apache-airflow {version} to be had")
    assert counts["converted"] + counts["partial"] > 0


def _blocking() -> tuple[Counter[str], Counter[str], int]:
    """Per finding code: the partial files it is in, and those where it is the only code;
    and how many operators the converted files keep as written (bridged)."""
    codes: Counter[str] = Counter()
    only: Counter[str] = Counter()
    bridged = 0
    for version in CORPUS:
        for _, source in _sources(version):
            result = convert_source(source)
            bridged += len(result.bridged)
            found = {f.code for f in result.findings}
            codes.update(found)
            if len(found) == 1:
                only.update(found)
    return codes, only, bridged


def _graph_checks(tmp_path: Path) -> tuple[int, int, list[str]]:
    """Every converted example DAG loaded beside its original (through the compat shim when it
    keeps operators as written): (files loaded, files whose original does not load here either
    (a provider or module this machine lacks), the graph differences found)."""
    import dagshift.compat
    from dagshift.runtime.loader import LoadError, load_path
    from dagshift.verify.compare import verify_flows

    dagshift.compat.install()
    loaded, unloadable, problems = 0, 0, []
    for version in CORPUS:
        for name, source in _sources(version):
            result = convert_source(source)
            if result.status != "converted":
                continue
            stem = re.sub(r"\W", "_", f"{version}_{Path(name).stem}")
            # the same file name on both sides: a DAG may take its id from it (Path(__file__))
            original, converted = (tmp_path / side / f"{stem}.py" for side in ("o", "c"))
            original.parent.mkdir(exist_ok=True)
            converted.parent.mkdir(exist_ok=True)
            original.write_text(source)
            converted.write_text(result.code)
            try:
                before = load_path(str(original))
            except LoadError:
                unloadable += 1
                continue
            try:
                after = load_path(str(converted))
            except LoadError as exc:
                problems.append(f"{name}: the original loads, the conversion does not: {exc}")
                continue
            loaded += 1
            for check in verify_flows(before, after, run=False):
                problems += [f"{name}: {d.message}" for d in check.differences]
    return loaded, unloadable, problems


def test_every_converted_example_dag_that_loads_has_its_originals_graph(tmp_path: Path) -> None:
    loaded, _, problems = _graph_checks(tmp_path)
    assert not problems, problems
    if not loaded:
        pytest.skip("no example DAGs to be had")


if __name__ == "__main__":
    total: Counter[str] = Counter()
    for version in CORPUS:
        counts = _check(version)
        total += counts
        print(version, dict(sorted(counts.items())), sum(counts.values()))
    print("total", dict(sorted(total.items())), sum(total.values()))
    dags = total["converted"] + total["partial"]
    print(f"DAG files converted with no TODO: {total['converted']} of {dags}")
    codes, only, bridged = _blocking()
    print(f"operators bridged (kept as written) in converted files: {bridged}")
    print("codes still blocking (files with the code, files where it is the only one):")
    for code, n in codes.most_common():
        print(f"  {code} {n} ({only[code]})")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        loaded, unloadable, problems = _graph_checks(Path(tmp))
    print(f"converted files loading beside their original: {loaded}, of which differ by graph:")
    print(f"  {len(problems)}; converted files whose original does not load here: {unloadable}")
    for problem in problems:
        print("  ", problem)
