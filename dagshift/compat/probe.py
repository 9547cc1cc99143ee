"""What the installed apache-airflow has, asked of it: the bridge's only source of truth.

A path the shim's table does not list is served by the bridge only when real Airflow resolves
it, and a name in it only when real Airflow has it. Looking for files cannot tell: Airflow 2.x
makes its deprecated aliases (``airflow.operators.docker_operator``, ``airflow.hooks.base_hook``,
``airflow.contrib.*``) in ``sys.modules`` at import time, and many names are lazy re-exports.
So one subprocess without the shim (:mod:`dagshift.compat.probe_runner`) imports real Airflow
and answers, a JSON line per question, for the life of this process. Real Airflow and the shim
never meet in one interpreter. Answers are cached on disk per installed Airflow (the versions
of every ``apache-airflow*`` distribution), so a second ``dagshift run`` of the same file
starts no subprocess at all.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib.machinery
import json
import os
import subprocess
import sys
import tempfile
import threading
from importlib import metadata
from pathlib import Path
from typing import Any

from dagshift.runtime.files import write_atomic

__all__ = [
    "ask",
    "bridge_enabled",
    "construct_error",
    "real_airflow_installed",
    "real_airflow_version",
]

_RUNNER = Path(__file__).with_name("probe_runner.py")
_lock = threading.Lock()
_answers: dict[str, dict[str, Any]] = {}
_state: dict[str, Any] = {"proc": None, "cache": None, "dirty": False, "home": None}


def real_airflow_installed() -> bool:
    """Whether apache-airflow is importable in this environment (without importing it)."""
    spec = importlib.machinery.PathFinder.find_spec("airflow")
    return spec is not None and bool(spec.submodule_search_locations)


def bridge_enabled() -> bool:
    """The bridge is on where real Airflow is installed, unless ``DAGSHIFT_BRIDGE=0``."""
    return os.environ.get("DAGSHIFT_BRIDGE", "1") != "0" and real_airflow_installed()


def real_airflow_version() -> str | None:
    try:
        return metadata.version("apache-airflow")
    except metadata.PackageNotFoundError:
        return None


def ask(module: str, name: str | None = None) -> dict[str, Any]:
    """Real Airflow's answer about ``module`` (or ``module.name``).

    Returns ``{"found": bool, "error": str|None}`` plus, for a module, ``package``; for a name,
    ``kind`` (operator, sensor, hook, notifier, class, function, module, value) and ``target``
    (``module:qualname`` of the real object) or ``value`` (plain JSON data).
    """
    key = module if name is None else f"{module}:{name}"
    with _lock:
        if key not in _answers:
            cached = _disk_cache().get(key)
            if cached is None:
                cached = _ask_subprocess({"module": module, "name": name})
                # A failed import may depend on packages outside the cache's key: ask again.
                if not cached.get("error"):
                    _disk_cache()[key] = cached
                    _state["dirty"] = True
            _answers[key] = cached
        return _answers[key]


def construct_error(target: str, kwargs: dict[str, Any]) -> str | None:
    """Real Airflow's error building ``target`` (``module:qualname``) from ``kwargs``, if any
    (never cached: the arguments are the file's)."""
    import base64

    import cloudpickle

    payload = base64.b64encode(cloudpickle.dumps(kwargs)).decode()
    with _lock:
        reply = _ask_subprocess({"module": "", "target": target, "construct": payload})
    return reply.get("error")


def _ask_subprocess(request: dict[str, Any]) -> dict[str, Any]:
    proc = _state["proc"]
    if proc is None or proc.poll() is not None:
        proc = _state["proc"] = _start()
    proc.stdin.write(json.dumps(request) + "\n")
    proc.stdin.flush()
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(
            "dagshift could not ask the installed apache-airflow what it provides (its process "
            f"ended with status {proc.wait()}); check that `{sys.executable} -c 'import airflow'` "
            "works, or set DAGSHIFT_BRIDGE=0 to use the shim alone"
        )
    return json.loads(line)


def _start() -> subprocess.Popen:
    env = dict(os.environ)
    if "AIRFLOW_HOME" not in env:  # importing Airflow writes airflow.cfg into its home
        _state["home"] = _state["home"] or tempfile.mkdtemp(prefix="dagshift-probe-")
        env["AIRFLOW_HOME"] = _state["home"]
    env["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    # -P: the runner's folder (dagshift/compat) must not shadow top-level modules there.
    proc = subprocess.Popen(
        [sys.executable, "-P", str(_RUNNER)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    atexit.register(_stop, proc)
    return proc


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


def _cache_file() -> Path:
    base = os.environ.get("DAGSHIFT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "dagshift"
    )
    dists = sorted(
        f"{d.metadata['Name']}=={d.version}"
        for d in metadata.distributions()
        if (d.metadata["Name"] or "").lower().startswith("apache-airflow")
    )
    key = "\n".join([sys.executable, _RUNNER.read_text(), *dists])
    return Path(base) / "bridge" / f"{hashlib.sha256(key.encode()).hexdigest()[:20]}.json"


def _disk_cache() -> dict[str, Any]:
    if _state["cache"] is None:
        path = _cache_file()
        _state["path"] = path
        try:
            _state["cache"] = json.loads(path.read_text())
        except (OSError, ValueError):  # none yet, or unreadable: ask again
            _state["cache"] = {}
        atexit.register(_save)
    return _state["cache"]


def _save() -> None:
    if not _state["dirty"]:
        return
    path: Path = _state["path"]
    try:
        merged = json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):
        merged = {}
    merged.update(_state["cache"])
    try:
        write_atomic(path, json.dumps(merged, sort_keys=True))
    except OSError:  # a read-only home only costs the next run its subprocess
        pass
    _state["dirty"] = False
