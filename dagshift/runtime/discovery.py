"""Which files of a folder are DAG files: Airflow's DAG discovery, rule for rule.

Airflow walks the DAGs folder (following links), reads an ``.airflowignore`` in every folder
it enters (its rules apply to that folder and below, added to the rules above it) and parses
only the ``.py`` files that survive and that *might contain a DAG*: in safe mode (the default,
``[core] dag_discovery_safe_mode``) a file whose bytes, lowercased, contain ``airflow`` and
``dag`` (Airflow 3 also takes ``asset`` for ``dag``). ``.airflowignore`` patterns are regular
expressions searched in the path relative to the DAGs folder, or, with ``[core]
dag_ignore_file_syntax = glob``, gitignore-style globs (negation, ``/``-anchoring, directory-only
patterns); ``#`` starts a comment. The default syntax is Airflow's: ``regexp`` in 2.x,
``glob`` in 3.x, taken from the installed apache-airflow (without importing it), else the
Airflow 2 default, since a repository on its way out of Airflow 2 is the common case.

dagshift adds two things: a file that mentions ``dagshift`` is a flow file (converted flows
need not name Airflow), and hidden folders (``.git``, ``.venv``, ``.dagshift``) are not walked.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path

__all__ = [
    "dag_files",
    "folder_files",
    "ignore_syntax",
    "installed_airflow_generation",
    "might_contain_dag",
]

IGNORE_FILE = ".airflowignore"
_log = logging.getLogger(__name__)
_Rule = tuple  # ("re", regex, base) or ("glob", pattern, relative_to, dir_only)


def installed_airflow_generation() -> str | None:
    """The major version of the installed apache-airflow ("2", "3"), read without importing it."""
    try:
        return metadata.version("apache-airflow").split(".")[0]
    except metadata.PackageNotFoundError:
        return None


def ignore_syntax() -> str:
    """``regexp`` or ``glob``: ``AIRFLOW__CORE__DAG_IGNORE_FILE_SYNTAX``, else Airflow's default."""
    value = os.environ.get("AIRFLOW__CORE__DAG_IGNORE_FILE_SYNTAX", "").strip().lower()
    if not value:
        return "glob" if installed_airflow_generation() == "3" else "regexp"
    if value not in ("regexp", "glob"):
        raise ValueError(
            f"AIRFLOW__CORE__DAG_IGNORE_FILE_SYNTAX={value!r}: Airflow accepts regexp or glob"
        )
    return value


def _safe_mode() -> bool:
    raw = os.environ.get("AIRFLOW__CORE__DAG_DISCOVERY_SAFE_MODE", "True")
    return raw.strip().lower() in ("true", "t", "1")


def might_contain_dag(path: Path) -> bool:
    """Airflow's default heuristic (plus dagshift flow files); always true outside safe mode."""
    if not _safe_mode():
        return True
    content = path.read_bytes().lower()
    if b"dagshift" in content:
        return True
    if b"airflow" not in content:
        return False
    words = (b"dag", b"asset") if installed_airflow_generation() == "3" else (b"dag",)
    return any(w in content for w in words)


def _compile_regexp(pattern: str, base: Path, where: Path) -> _Rule | None:
    try:
        return ("re", re.compile(pattern), base)
    except re.error as exc:
        _log.warning("Ignoring invalid regex '%s' from %s: %s", pattern, where, exc)
        return None


def _match_regexp(path: Path, rules: list[_Rule]) -> bool:
    return any(rule[1].search(str(path.relative_to(rule[2]))) for rule in rules)


def _compile_glob(pattern: str, base: Path, where: Path) -> _Rule | None:
    from pathspec.patterns import GitWildMatchPattern

    if pattern.strip() == "/":
        _log.warning("Ignoring no-op glob pattern '/' from %s", where)
        return None
    # gitignore: a separator at the start or in the middle anchors the pattern to its file's
    # folder; otherwise it matches a name at any level below.
    anchored = pattern.startswith("/") or "/" in pattern.rstrip("/")
    raw = pattern.lstrip("!").rstrip()
    dir_only = raw != raw.rstrip("/")
    with warnings.catch_warnings():  # pathspec 1.x deprecates the class Airflow still uses
        warnings.simplefilter("ignore", DeprecationWarning)
        compiled = GitWildMatchPattern(pattern)
    return ("glob", compiled, where.parent if anchored else None, dir_only)


def _match_glob(path: Path, rules: list[_Rule]) -> bool:
    matched = False
    is_dir = path.is_dir()
    for _, pattern, relative_to, dir_only in rules:
        if dir_only and not is_dir:
            continue
        rel = (path.relative_to(relative_to) if relative_to else Path(path.name)).as_posix()
        rel += "/" if is_dir else ""
        if pattern.include is not None and pattern.match_file(rel) is not None:
            matched = pattern.include  # later rules override earlier ones (negation)
    return matched


def _walk(base: Path, compile_rule: Callable, match: Callable) -> Iterator[Path]:
    rules_by_dir: dict[Path, list[_Rule]] = {}
    for root, dirs, files in os.walk(base, followlinks=True):
        here = Path(root)
        rules = rules_by_dir.get(here.resolve(), [])
        ignore_file = here / IGNORE_FILE
        if ignore_file.is_file():
            lines = [re.sub(r"\s*#.*", "", line) for line in ignore_file.read_text().split("\n")]
            compiled = (compile_rule(line, base, ignore_file) for line in lines if line)
            rules = rules + [rule for rule in compiled if rule is not None]
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not match(here / d, rules))
        for d in dirs:
            resolved = (here / d).resolve()
            if resolved in rules_by_dir:
                raise RuntimeError(
                    f"Detected recursive loop when walking DAG directory {base}: {resolved} "
                    "has appeared more than once."
                )
            rules_by_dir[resolved] = list(rules)
        for name in sorted(files):
            if name != IGNORE_FILE and not match(here / name, rules):
                yield here / name


def folder_files(folder: str | os.PathLike) -> list[Path]:
    """Every file below ``folder`` that its ``.airflowignore`` files leave in, sorted."""
    base = Path(folder)
    if ignore_syntax() == "glob":
        walk = _walk(base, _compile_glob, _match_glob)
    else:
        walk = _walk(base, _compile_regexp, _match_regexp)
    return sorted(p for p in walk if p.is_file())


def dag_files(folder: str | os.PathLike) -> list[Path]:
    """The ``.py`` files below ``folder`` that Airflow would parse as DAG files, sorted."""
    return [p for p in folder_files(folder) if p.suffix == ".py" and might_contain_dag(p)]
