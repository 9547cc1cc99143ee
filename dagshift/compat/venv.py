"""PythonVirtualenvOperator and ExternalPythonOperator: a callable run by another Python.

As in Airflow's standard provider: the callable's *source* (``inspect.getsource``, dedented;
TaskFlow decorators removed) is written into a script with the arguments pickled beside it by
the chosen ``serializer`` (pickle, cloudpickle or dill), ``string_args`` in a text file read into
the global ``virtualenv_string_args``; the script runs in the other interpreter, writes the
pickled return value (nothing for None) and, on an exception, its message to a termination log
that becomes the task's error. Only the context entries Airflow serializes reach the callable:
the plain ones always, the dates when pendulum (or Airflow) is there, ``params`` when Airflow is
expected there. ``skip_on_exit_code`` skips.

The virtual environment is built with uv (``python -m venv`` and pip where uv is missing),
cached per requirement set, Python version and ``system_site_packages`` under dagshift's cache
(``$DAGSHIFT_VENV_CACHE``, else ``~/.cache/dagshift/venvs``) or the operator's
``venv_cache_path``, behind a file lock so that concurrent tasks build it once. "System site
packages" are the packages installed beside dagshift (Airflow's worker is where Airflow runs).
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import types
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from dagshift.compat import venv_script
from dagshift.compat.context import generation_of
from dagshift.compat.exceptions import AirflowException, AirflowSkipException
from dagshift.compat.operators import BaseBranchOperator, PythonOperator
from dagshift.compat.venv_script import (
    AIRFLOW_KEYS,
    BASE_KEYS,
    CROSSING,
    EMPTY_ONLY,
    PENDULUM_KEYS,
)

__all__ = [
    "BranchExternalPythonOperator",
    "BranchPythonVirtualenvOperator",
    "ExternalPythonOperator",
    "PythonVirtualenvOperator",
    "is_venv_installed",
    "venv_cache_root",
]

_SERIALIZERS = ("pickle", "cloudpickle", "dill")


def is_venv_installed() -> bool:
    """Airflow 2's ``airflow.operators.python.is_venv_installed``: whether ``virtualenv`` is on
    the PATH or importable, asked the same way (DAG files use it to decide whether to define a
    virtualenv DAG at all; dagshift's operators build with uv or ``python -m venv`` either way).
    """
    return bool(shutil.which("virtualenv") or importlib.util.find_spec("virtualenv"))


def venv_cache_root() -> Path:
    """Where dagshift keeps the virtual environments it builds."""
    given = os.environ.get("DAGSHIFT_VENV_CACHE")
    if given:
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "dagshift" / "venvs"


class _BasePythonVirtualenvOperator(PythonOperator):
    """What both operators share: the script, the arguments, the result (see the module)."""

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        serializer: str | None = None,
        op_args: Collection[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        string_args: Iterable[str] | None = None,
        templates_dict: dict | None = None,
        templates_exts: list[str] | None = None,
        expect_airflow: bool = True,
        skip_on_exit_code: int | Collection[int] | None = None,
        env_vars: dict[str, str] | None = None,
        inherit_env: bool = True,
        use_dill: bool = False,  # Airflow 2
        **kwargs: Any,
    ) -> None:
        if not isinstance(python_callable, types.FunctionType) or (
            python_callable.__name__ == "<lambda>"
        ):
            raise ValueError(
                f"{type(self).__name__} only supports functions for python_callable arg"
            )
        if inspect.isgeneratorfunction(python_callable):
            raise ValueError(
                f"{type(self).__name__} does not support using 'yield' in python_callable"
            )
        super().__init__(
            python_callable=python_callable,
            op_args=op_args,
            op_kwargs=op_kwargs,
            templates_dict=templates_dict,
            templates_exts=templates_exts,
            **kwargs,
        )
        self.string_args = string_args or []
        if use_dill:
            if serializer:
                raise AirflowException(
                    "Both 'use_dill' and 'serializer' parameters are set. Please set only one "
                    "of them"
                )
            serializer = "dill"
        serializer = serializer or "pickle"
        if serializer not in _SERIALIZERS:
            raise AirflowException(
                f"Unsupported serializer {serializer!r}. Expected one of "
                f"{', '.join(map(repr, _SERIALIZERS))}"
            )
        self.serializer = serializer
        self.expect_airflow = expect_airflow
        if skip_on_exit_code is None:
            self.skip_on_exit_code: Collection[int] = []
        elif isinstance(skip_on_exit_code, Collection):
            self.skip_on_exit_code = skip_on_exit_code
        else:
            self.skip_on_exit_code = [skip_on_exit_code]
        self.env_vars = env_vars
        self.inherit_env = inherit_env

    # ------------------------------------------------------------ what to override
    def _context_keys(self) -> set[str]:
        raise NotImplementedError

    def _python(self) -> Path:
        """The interpreter to run the callable with (building its environment if need be)."""
        raise NotImplementedError

    # ------------------------------------------------------------------- running
    def execute(self, context: dict[str, Any]) -> Any:
        keys = self._context_keys()
        if generation_of(self) != "3":
            keys.add("map_index_template")  # Airflow 2.11 serializes it too
        asked = _named_parameters(self.python_callable)
        lost = sorted((keys & AIRFLOW_KEYS & asked) - {"params"})
        if lost:
            raise AirflowException(
                f"{type(self).__name__} {self.task_id!r}: the callable asks for {lost}, live "
                "objects of the run that dagshift cannot pass into another Python process. "
                "Pass the values it needs through op_kwargs or templates (e.g. "
                "'{{ dag_run.conf }}', '{{ ti.task_id }}') instead"
            )
        offered = {
            k: v
            for k, v in context.items()
            if k in keys and (k in CROSSING or (k in EMPTY_ONLY and not v))
        }
        if "params" in offered:
            offered["params"] = dict(offered["params"])
        if generation_of(self) == "3":
            # Airflow 3.3's context has these two and no test_mode; the shim's context does not
            # yet (values of a run that is neither partitioned nor rescheduled).
            offered.pop("test_mode", None)
            offered.setdefault("task_reschedule_count", 0)
            offered.setdefault("partition_key", None)
        return super().execute(offered)

    def get_python_source(self) -> str:
        """The callable's source as the script gets it."""
        return textwrap.dedent(inspect.getsource(self.python_callable))

    def _pickling(self) -> Any:
        if self.serializer == "pickle":
            import pickle

            return pickle
        if self.serializer == "cloudpickle":
            import cloudpickle

            return cloudpickle
        try:
            import dill
        except ModuleNotFoundError as exc:
            raise AirflowException(
                "serializer='dill' needs the dill package beside dagshift: pip install dill"
            ) from exc
        return dill

    def execute_callable(self) -> Any:
        return self._run_in(self._python())

    def _run_in(self, python: Path) -> Any:
        from dagshift.runtime.cancel import run_process  # terminated if the run is cancelled

        pickling = self._pickling()
        with tempfile.TemporaryDirectory(prefix="venv-call") as tmp:
            folder = Path(tmp)
            paths = [folder / n for n in ("script.in", "script.out", "string_args.txt")]
            paths += [folder / "termination.log", folder / "airflow_context.json"]
            has_args = bool(self.op_args or self.op_kwargs)
            if has_args:
                args = {"args": list(self.op_args), "kwargs": dict(self.op_kwargs)}
                try:
                    paths[0].write_bytes(pickling.dumps(args))
                except Exception as exc:
                    raise AirflowException(
                        f"{type(self).__name__} {self.task_id!r}: its arguments cannot be "
                        f"serialized with {self.serializer} ({exc}); pass plain values, or "
                        "choose serializer='cloudpickle' or 'dill'"
                    ) from exc
            paths[2].write_text("\n".join(map(str, self.string_args)))
            script = folder / "script.py"
            script.write_text(venv_script.script(self, has_args))
            env = dict(os.environ) if self.inherit_env else {}
            env.update(self.env_vars or {})
            proc = run_process(
                [str(python), str(script), *map(str, paths)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            out = proc.stdout.decode(errors="backslashreplace")
            if out:
                print(out, end="" if out.endswith("\n") else "\n")
            if proc.returncode != 0:
                if proc.returncode in self.skip_on_exit_code:
                    raise AirflowSkipException(
                        f"Process exited with code {proc.returncode}. Skipping."
                    )
                log = paths[3].read_text() if paths[3].is_file() else ""
                message = f"Process returned non-zero exit status {proc.returncode}.\n{log}"
                if not log:
                    message += _last_lines(out)
                raise AirflowException(message)
            if 0 in self.skip_on_exit_code:
                raise AirflowSkipException("Process exited with code 0. Skipping.")
            if paths[1].stat().st_size == 0:
                return None
            return pickling.loads(paths[1].read_bytes())


def _named_parameters(fn: Callable[..., Any]) -> set[str]:
    params = inspect.signature(fn).parameters.values()
    return {p.name for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}


def _last_lines(out: str, n: int = 20) -> str:
    return "\n".join(out.splitlines()[-n:])


class PythonVirtualenvOperator(_BasePythonVirtualenvOperator):
    """Runs the callable in a virtual environment with ``requirements`` (see the module)."""

    template_fields = (
        "requirements",
        "index_urls",
        "venv_cache_path",
        "templates_dict",
        "op_args",
        "op_kwargs",
    )
    template_ext = (".txt",)

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        requirements: None | Iterable[str] | str = None,
        python_version: str | None = None,
        system_site_packages: bool = True,
        pip_install_options: list[str] | None = None,
        index_urls: None | Collection[str] | str = None,
        index_urls_from_connection_ids: None | Collection[str] | str = None,
        venv_cache_path: None | os.PathLike[str] | str = None,
        **kwargs: Any,
    ) -> None:
        if (
            python_version
            and str(python_version)[0] != str(sys.version_info.major)
            and (kwargs.get("op_args") or kwargs.get("op_kwargs"))
        ):
            raise AirflowException(
                "Passing op_args or op_kwargs is not supported across different Python "
                "major versions for PythonVirtualenvOperator. Please use string_args."
                f"Sys version: {sys.version_info}. Virtual environment version: {python_version}"
            )
        if python_version is not None and not isinstance(python_version, str):
            raise AirflowException(
                "Passing non-string types (e.g. int or float) as python_version not supported"
            )
        if not requirements:
            self.requirements: list[str] | str = []
        elif isinstance(requirements, str):
            self.requirements = [requirements]
        else:
            self.requirements = list(requirements)
        self.python_version = python_version
        self.system_site_packages = system_site_packages
        self.pip_install_options = pip_install_options
        if isinstance(index_urls, str):
            self.index_urls: list[str] | None = [index_urls]
        else:
            self.index_urls = list(index_urls) if index_urls is not None else None
        if index_urls_from_connection_ids:
            raise AirflowException(
                "index_urls_from_connection_ids needs Airflow's package index connections, "
                "which dagshift does not read: give the index URLs with index_urls"
            )
        self.venv_cache_path = venv_cache_path
        super().__init__(python_callable=python_callable, **kwargs)

    def _requirement_lines(self) -> list[str]:
        reqs = self.requirements
        lines = reqs.splitlines() if isinstance(reqs, str) else [str(r) for r in reqs]
        return [line for chunk in lines for line in chunk.splitlines()]

    def _requirements_list(self) -> list[str]:
        requirements = self._requirement_lines()
        if not self.system_site_packages:
            if self.serializer == "cloudpickle" and "cloudpickle" not in requirements:
                requirements.append("cloudpickle")
            elif self.serializer == "dill" and "dill" not in requirements:
                requirements.append("dill")
        return sorted(requirements)

    def _context_keys(self) -> set[str]:
        keys = set(BASE_KEYS)
        names = {venv_script.requirement_name(line) for line in self._requirement_lines()}
        if self.system_site_packages or "apache-airflow" in names:
            keys |= AIRFLOW_KEYS | PENDULUM_KEYS
        elif "pendulum" in names:
            keys |= PENDULUM_KEYS
        return keys

    def _cache_key(self) -> tuple[str, str]:
        from dagshift.compat.variables import Variable

        data = {
            "requirements_list": self._requirements_list(),
            "pip_install_options": self.pip_install_options,
            "index_urls": self.index_urls,
            "cache_key": str(Variable.get("python_virtualenv_operator_cache_key", "")),
            "python_version": self.python_version,
            "system_site_packages": self.system_site_packages,
            "base_python": None if self.python_version else sys.base_prefix,
        }
        text = json.dumps(data, sort_keys=True)
        return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()[:8], text

    def _python(self) -> Path:
        root = Path(self.venv_cache_path) if self.venv_cache_path else venv_cache_root()
        digest, text = self._cache_key()
        from dagshift.compat.venv_build import ensure_venv

        venv = ensure_venv(
            root / f"venv-{digest}",
            text,
            python=self.python_version,
            system_site_packages=self.system_site_packages,
            requirements=self._requirements_list(),
            pip_install_options=self.pip_install_options or [],
            index_urls=self.index_urls,
        )
        return venv / "bin" / "python"


class ExternalPythonOperator(_BasePythonVirtualenvOperator):
    """Runs the callable with the existing interpreter ``python`` (an absolute path)."""

    template_fields = ("python", "templates_dict", "op_args", "op_kwargs")

    def __init__(
        self,
        *,
        python: str,
        python_callable: Callable[..., Any],
        expect_pendulum: bool = False,
        **kwargs: Any,
    ) -> None:
        if not python:
            raise ValueError("Python Path must be defined in ExternalPythonOperator")
        self.python = python
        self.expect_pendulum = expect_pendulum
        super().__init__(python_callable=python_callable, **kwargs)

    def _python(self) -> Path:
        path = Path(self.python)
        if not path.exists():
            raise ValueError(f"Python Path '{path}' must exists")
        if not path.is_file():
            raise ValueError(f"Python Path '{path}' must be a file")
        if not path.is_absolute():
            raise ValueError(f"Python Path '{path}' must be an absolute path.")
        major = subprocess.run(
            [str(path), "-c", "import sys; print(sys.version_info.major)"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        if major != str(sys.version_info.major) and (self.op_args or self.op_kwargs):
            raise AirflowException(
                "Passing op_args or op_kwargs is not supported across different Python "
                "major versions for ExternalPythonOperator. Please use string_args."
                f"Sys version: {sys.version_info}. Virtual environment version: {major}"
            )
        return path

    def _context_keys(self) -> set[str]:
        keys = set(BASE_KEYS)
        # Airflow 2.11 asks the target for Airflow whatever expect_airflow says; 3.x only when
        # it is expected.
        expected = self.expect_airflow or generation_of(self) != "3"
        if expected and _has_distribution(self.python, "apache-airflow"):
            keys |= AIRFLOW_KEYS | PENDULUM_KEYS
        elif _has_distribution(self.python, "pendulum"):
            keys |= PENDULUM_KEYS
        return keys


def _has_distribution(python: str, name: str) -> bool:
    """Whether the interpreter ``python`` has the distribution ``name`` installed."""
    code = f"from importlib.metadata import version; version({name!r})"
    try:
        proc = subprocess.run([python, "-c", code], capture_output=True)
    except OSError:
        return False
    return proc.returncode == 0


class BranchPythonVirtualenvOperator(BaseBranchOperator, PythonVirtualenvOperator):
    """The callable, run in a virtual environment, returns the task id(s) to follow."""

    execute = PythonVirtualenvOperator.execute


class BranchExternalPythonOperator(BaseBranchOperator, ExternalPythonOperator):
    """The callable, run by another interpreter, returns the task id(s) to follow."""

    execute = ExternalPythonOperator.execute
