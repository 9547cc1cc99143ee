"""Writing files so that nothing is ever half-written: beside the target, then renamed."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["read_json_object", "write_atomic"]

# Read once: os.umask can only be read by setting it, which is not safe while threads run.
_UMASK = os.umask(0)
os.umask(_UMASK)


def write_atomic(
    path: str | os.PathLike, data: str | bytes, mode: int | None = None, fsync: bool = False
) -> None:
    """Write ``data`` to ``path``: a reader sees the old file or the new one, never part of it.

    The file gets ``mode``, by default what a newly created file gets (0o666 less the umask);
    with ``fsync`` the data is on disk before the rename.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb" if isinstance(data, bytes) else "w", **_text(data)) as fh:
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, mode if mode is not None else 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json_object(path: Path, what: str) -> dict[str, Any]:
    """The JSON object a small store keeps in ``path`` (``what`` names it in errors: "the
    variable store"), or {} when there is no such file.

    Raises:
        RuntimeError: the file cannot be read or parsed, or holds no JSON object.
    """
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise RuntimeError(f"{path}: cannot read {what} ({exc}); fix or delete the file") from exc
    if not isinstance(data, dict):
        raise RuntimeError(f"{path}: {what} must hold a JSON object")
    return data


def _text(data: str | bytes) -> dict[str, str]:
    return {} if isinstance(data, bytes) else {"encoding": "utf-8"}
