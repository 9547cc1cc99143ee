"""Real Apache Airflow as the test oracle: run DAG files, get ``dagshift run --json``'s shape.

``airflow_run(dag_file, logical_date)`` returns
``{dag_id: {"state": "success"|"failed", "tasks": {task_id: {"state": ..., "result": ...}}}}``
for every DAG the file defines, each run once with ``dag.test()`` at ``logical_date``. A result
is the task's XCom ``return_value`` normalized with ``json.loads(json.dumps(v, default=repr))``;
a mapped task's result is the list of its per-index results in map-index order and its state is
failed if any index failed, else upstream_failed if any was, else success if any succeeded, else
skipped.

How (facts found on these machines, see docs DESIGN.md): Airflow runs in a subprocess of its own
environment (``generation="3"``: ``.venv``, Airflow 3.3; ``"2"``: ``.venv-airflow2``, Airflow
2.11, the oracle for 1.10/2.x-style files) with a fresh ``AIRFLOW_HOME`` whose ``airflow.db`` is
a copy of one migrated once per Airflow version; the DAG files are copied into that home's DAGs
folder. An Airflow 3 process pays ~5 s to start and ~0.2 s per task, so ``airflow_run_many``
runs several files in one process. Results are cached on disk outside the repository
(``$DAGSHIFT_ORACLE_CACHE`` or ``~/.cache/dagshift/oracle``), keyed by the file's content, the
files that run in the same process (one file can fail another's runs), the run's arguments, the
Airflow version and this harness's own code, so a repeated test run does not start Airflow at
all; an empty cache only makes the first run slower.

``params`` become the run's conf (Airflow's only way to set params for one run: with
``dag_run_conf_overrides_params`` on, conf keys override params); ``conf`` keys win over
``params`` keys. ``env`` adds variables to Airflow's environment, e.g. ``AIRFLOW_VAR_<NAME>``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

__all__ = ["OracleError", "airflow_run", "airflow_run_many", "airflow_python", "ROOT"]

ROOT = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).with_name("airflow_runner.py")
_VENVS = {"3": ROOT / ".venv", "2": ROOT / ".venv-airflow2"}
_TIMEOUT = 900


class OracleError(RuntimeError):
    """Airflow could not run a DAG file (import error, crash); the message has Airflow's words."""


def airflow_python(generation: str) -> Path:
    """The python of the Airflow environment of ``generation`` ("2" or "3")."""
    if generation not in _VENVS:
        raise ValueError(f"generation must be '2' or '3', not {generation!r}")
    return _VENVS[generation] / "bin" / "python"


def airflow_run(
    dag_file: str | os.PathLike,
    logical_date: str | date | datetime,
    generation: str = "3",
    conf: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> dict:
    """Run every DAG of ``dag_file`` once in real Airflow; ``dagshift run --json``'s shape.

    Example:
        >>> airflow_run("fixtures/dags/af3_sdk_branching.py", "2024-03-01")["af3_sdk_branching"]
        {'state': 'success', 'tasks': {'choose': {'state': 'success', 'result': 'left'}, ...}}
    """
    return airflow_run_many([(dag_file, logical_date, conf, params, env)], generation=generation)[0]


def airflow_run_many(runs: Iterable[tuple | Mapping], generation: str = "3") -> list[dict]:
    """Run several DAG files in as few Airflow processes as possible; one result per run.

    Each run is ``(dag_file, logical_date[, conf[, params[, env]]])`` or a mapping with those
    keys (and ``files``: what the DAG reads beside it, path relative to its folder -> bytes;
    ``plugins``: files of the Airflow home's plugins folder, path relative to it -> bytes).
    Runs with the same ``env`` and ``plugins`` share a process unless they repeat the same file
    at the same logical date (Airflow allows one run per DAG and logical date in a database).

    Raises:
        OracleError: a file did not import or Airflow crashed; cached results of the other runs
            are kept.
    """
    jobs = [_job(run, generation) for run in runs]
    version = _airflow_version(generation)
    groups = _groups(jobs, list(range(len(jobs))))
    # A run's outcome can depend on the other files in its DAGs folder and database (two files
    # giving one asset URI different names fail each other's runs), so a cached result is
    # keyed by its process's files too, and a group runs whole or not at all.
    for group in groups:
        tenants = sorted({jobs[i]["digest"] for i in group})
        for i in group:
            jobs[i]["tenants"] = tenants
    results: list[dict | None] = [_cache_get(job, version) for job in jobs]
    errors = []
    for group in groups:
        if all(results[i] is not None for i in group):
            continue
        outcome = _run_in_airflow([jobs[i] for i in group], generation)
        for i, run in zip(group, outcome, strict=True):
            if "error" in run:
                errors.append(f"{jobs[i]['path']} at {jobs[i]['logical_date']}:\n{run['error']}")
            else:
                results[i] = run["dags"]
                _cache_put(jobs[i], version, run["dags"])
    if errors:
        raise OracleError("Airflow could not run:\n" + "\n\n".join(errors))
    return results  # type: ignore[return-value]


def _job(run: tuple | Mapping, generation: str) -> dict:
    files = dict(run.get("files") or {}) if isinstance(run, Mapping) else {}
    plugins = dict(run.get("plugins") or {}) if isinstance(run, Mapping) else {}
    if isinstance(run, Mapping):
        run = (
            run["dag_file"],
            run["logical_date"],
            run.get("conf"),
            run.get("params"),
            run.get("env"),
        )
    dag_file, logical_date, conf, params, env = (tuple(run) + (None, None, None))[:5]
    path = Path(dag_file).resolve()
    source = path.read_bytes()
    if isinstance(logical_date, datetime | date):
        logical_date = logical_date.isoformat()
    # Files the DAG reads beside it (``files``: path relative to its folder -> bytes) are
    # copied with it and are part of its digest.
    digest = hashlib.sha256(source)
    for rel in sorted(files):
        digest.update(f"\0{rel}\0".encode() + files[rel])
    for rel in sorted(plugins):
        digest.update(f"\0plugins/{rel}\0".encode() + plugins[rel])
    return {
        "path": str(path),
        "source": source,
        "files": files,
        "plugins": plugins,
        "digest": digest.hexdigest(),
        "logical_date": str(logical_date),
        "conf": {**(params or {}), **(conf or {})},
        "env": dict(env or {}),
        "generation": generation,
    }


def _groups(jobs: list[dict], indexes: list[int]) -> list[list[int]]:
    """Split runs into processes: same env and plugins, never one file twice at one date."""
    groups: list[tuple[tuple, set, list[int]]] = []
    for job, i in zip(jobs, indexes, strict=True):
        seen_key = (job["digest"], job["logical_date"])
        home = (job["env"], job.get("plugins", {}))
        for other, seen, members in groups:
            if other == home and seen_key not in seen:
                seen.add(seen_key)
                members.append(i)
                break
        else:
            groups.append((home, {seen_key}, [i]))
    return [members for _, _, members in groups]


def _run_in_airflow(jobs: list[dict], generation: str) -> list[dict]:
    python = airflow_python(generation)
    if not python.exists():
        raise OracleError(f"{python} is missing: run `make oracle-envs` (Airflow {generation})")
    with tempfile.TemporaryDirectory(prefix=f"dagshift-oracle-af{generation}-") as tmp:
        home = Path(tmp)
        dags = home / "dags"
        dags.mkdir()
        shutil.copy(_migrated_db(generation), home / "airflow.db")
        names: dict[str, str] = {}
        for job in jobs:
            # The file keeps its own name (a DAG id may come from ``__file__``) in a folder named
            # by its content, so two different files named alike never clash.
            name = names.setdefault(job["digest"], f"{job['digest'][:8]}/{Path(job['path']).name}")
            (dags / name).parent.mkdir(exist_ok=True)
            (dags / name).write_bytes(job["source"])
            for rel, data in job["files"].items():
                (dags / name).parent.joinpath(rel).parent.mkdir(parents=True, exist_ok=True)
                (dags / name).parent.joinpath(rel).write_bytes(data)
        # Airflow's default plugins folder: {AIRFLOW_HOME}/plugins (one per process).
        for rel, data in jobs[0]["plugins"].items():
            (home / "plugins" / rel).parent.mkdir(parents=True, exist_ok=True)
            (home / "plugins" / rel).write_bytes(data)
        spec = {
            "generation": generation,
            "files": sorted(set(names.values())),
            "runs": [
                {"file": names[j["digest"]], "logical_date": j["logical_date"], "conf": j["conf"]}
                for j in jobs
            ],
        }
        (home / "spec.json").write_text(json.dumps(spec))
        out = home / "out.json"
        env = {**_airflow_env(home), **jobs[0]["env"]}
        proc = _run([str(python), "-I", str(RUNNER), str(home / "spec.json"), str(out)], env, home)
        if proc.returncode != 0 or not out.exists():
            raise OracleError(
                f"Airflow {generation} exited with {proc.returncode}:\n{proc.stderr[-6000:]}"
            )
        return json.loads(out.read_text())["runs"]


def _airflow_env(home: Path) -> dict[str, str]:
    """The parent's environment without Airflow or Python settings, plus a fresh Airflow home."""
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIRFLOW", "PYTHON", "DAGSHIFT", "VIRTUAL_ENV"))
    }
    return {
        **keep,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "TZ": "UTC",
    }


def _run(cmd: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=_TIMEOUT
        )
    except subprocess.TimeoutExpired as exc:
        raise OracleError(f"Airflow took longer than {_TIMEOUT} s: {' '.join(cmd)}") from exc


def cache_dir() -> Path:
    """Where oracle results and migrated databases live (never inside the repository)."""
    base = os.environ.get("DAGSHIFT_ORACLE_CACHE")
    return Path(base) if base else Path.home() / ".cache" / "dagshift" / "oracle"


@contextlib.contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _migrated_db(generation: str) -> Path:
    """An ``airflow.db`` migrated once per Airflow version (under a lock: xdist workers race)."""
    db = cache_dir() / f"airflow-{_airflow_version(generation)}.db"
    with _locked(db):
        if not db.exists():
            with tempfile.TemporaryDirectory(prefix="dagshift-oracle-migrate-") as tmp:
                home = Path(tmp)
                (home / "dags").mkdir()
                proc = _run(
                    [str(airflow_python(generation)), "-I", "-m", "airflow", "db", "migrate"],
                    _airflow_env(home),
                    home,
                )
                if proc.returncode != 0:
                    raise OracleError(f"airflow db migrate failed:\n{proc.stderr[-4000:]}")
                shutil.copy(home / "airflow.db", db.with_suffix(".tmp"))
                os.replace(db.with_suffix(".tmp"), db)
    return db


def _airflow_version(generation: str) -> str:
    """The installed apache-airflow version, read from its metadata without importing it."""
    site = next((_VENVS[generation] / "lib").glob("python3*/site-packages"), None)
    found = sorted(site.glob("apache_airflow-*.dist-info")) if site else []
    if not found:
        raise OracleError(
            f"no apache-airflow in {_VENVS[generation]}: run `make oracle-envs` "
            f"(Airflow {generation})"
        )
    return found[0].name.removeprefix("apache_airflow-").removesuffix(".dist-info")


def _cache_key(job: dict, version: str) -> str:
    material = json.dumps(
        [
            job["digest"],
            job.get("tenants", [job["digest"]]),
            job["logical_date"],
            job["conf"],
            job["env"],
            version,
            hashlib.sha256(RUNNER.read_bytes()).hexdigest(),
        ],
        sort_keys=True,
        default=repr,
    )
    return hashlib.sha256(material.encode()).hexdigest()


def _cache_get(job: dict, version: str) -> dict | None:
    path = cache_dir() / "runs" / f"{_cache_key(job, version)}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _cache_put(job: dict, version: str, result: dict) -> None:
    path = cache_dir() / "runs" / f"{_cache_key(job, version)}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(result, sort_keys=True))
    os.replace(tmp, path)
