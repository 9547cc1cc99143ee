"""Build (once) the virtual environment a PythonVirtualenvOperator runs in.

One folder per requirement set (its name a hash of what went into it, as Airflow's
``venv_cache_path`` layout has it: ``venv-<hash>`` with ``install_complete_marker.json``); an
exclusive ``flock`` on ``venv-<hash>.lock`` makes a second process or thread wait for the first
build and then reuse it. A folder without the marker (a build that died) is built again. uv
builds it (``uv venv`` + ``uv pip install``); without uv, ``python -m venv`` and pip do.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

from dagshift.compat.exceptions import AirflowException

__all__ = ["ensure_venv", "find_uv"]

_MARKER = "install_complete_marker.json"


def find_uv() -> str | None:
    """The uv executable: the one installed with dagshift, else one on PATH."""
    try:
        from uv import find_uv_bin

        return os.fspath(find_uv_bin())
    except (ImportError, FileNotFoundError):
        pass
    beside = Path(sys.executable).with_name("uv")
    return str(beside) if beside.is_file() else shutil.which("uv")


def ensure_venv(
    path: Path,
    description: str,
    *,
    python: str | None,
    system_site_packages: bool,
    requirements: list[str],
    pip_install_options: list[str],
    index_urls: list[str] | None,
) -> Path:
    """The ready environment at ``path``, built first if it is missing or incomplete.

    Raises:
        AirflowException: the build failed (the output of uv or pip is in the message).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{path}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        marker = path / _MARKER
        if marker.is_file() and marker.read_text(encoding="utf8") == description:
            print(f"Reusing cached Python virtual environment in {path}")
            return path
        if path.exists():
            shutil.rmtree(path)
        try:
            _build(
                path, python, system_site_packages, requirements, pip_install_options, index_urls
            )
        except Exception:
            shutil.rmtree(path, ignore_errors=True)
            raise
        marker.write_text(description, encoding="utf8")
        print(f"New Python virtual environment created in {path}")
        return path


def _build(
    path: Path,
    python: str | None,
    system_site_packages: bool,
    requirements: list[str],
    options: list[str],
    index_urls: list[str] | None,
) -> None:
    uv = find_uv()
    interpreter = f"python{python}" if python else sys.executable
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    if index_urls:
        env["UV_DEFAULT_INDEX"] = index_urls[0]
        if len(index_urls) > 1:
            env["UV_INDEX"] = " ".join(index_urls[1:])
    if uv:
        create = [uv, "venv", "--allow-existing", "--python", python or interpreter]
    else:
        create = [interpreter, "-m", "venv"]
    if system_site_packages:
        create.append("--system-site-packages")
    _step(create + [str(path)], env, path)
    if system_site_packages:
        _see_dagshift_packages(path)
    if requirements:
        (path / "requirements.txt").write_text("\n".join(requirements))
        if uv:
            install = [uv, "pip", "install", "--python", str(path / "bin" / "python")]
        else:
            install = [str(path / "bin" / "pip"), "install"]
            if index_urls:
                install += ["--index-url", index_urls[0]]
                install += [a for url in index_urls[1:] for a in ("--extra-index-url", url)]
        _step(install + options + ["-r", str(path / "requirements.txt")], env, path)


def _step(cmd: list[str], env: dict[str, str], path: Path) -> None:
    print("Executing cmd:", " ".join(cmd))
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.stdout.decode(errors="backslashreplace")
    if out:
        print(out, end="" if out.endswith("\n") else "\n")
    if proc.returncode != 0:
        tail = "\n".join(out.splitlines()[-15:])
        raise AirflowException(
            f"Unable to create new virtual environment in {path}: `{' '.join(cmd)}` exited "
            f"with {proc.returncode}:\n{tail}\nCheck the requirements and that the package "
            "index is reachable (index_urls), or use ExternalPythonOperator with a ready "
            "interpreter"
        )


def _see_dagshift_packages(path: Path) -> None:
    """``system_site_packages``: the packages installed beside dagshift, after the venv's own
    (Airflow's venv sees the worker's, where Airflow is installed)."""
    own = next(path.glob("lib/python*/site-packages"), None)
    if own is None:
        return
    dirs = [d for d in site.getsitepackages() if Path(d).is_dir()]
    (own / "_dagshift_system_site_packages.pth").write_text("".join(f"{d}\n" for d in dirs))
