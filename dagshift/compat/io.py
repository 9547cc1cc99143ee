"""``ObjectStoragePath``: Airflow's pathlib-like path over local files and fsspec stores.

A path is a protocol (``""`` for a plain path, ``"file"`` for ``file://``, ``"s3"``, ``"memory"``
...), an optional connection id and a posix path (``/tmp/x`` locally, ``bucket/key`` in a store).
Its string, ``bucket``, ``key`` and ``namespace`` are Airflow's. Local paths need nothing beyond
the standard library; any other protocol is served by fsspec's filesystem for it, when fsspec is
installed (it comes with Airflow; dagshift does not require it), with the path's storage options.
A ``conn_id`` is kept in the path (``s3://aws@bucket/key``) but its credentials are not read:
give them as storage options or through the store's own environment variables.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

__all__ = ["ObjectStoragePath"]

_LOCAL = ("", "file", "local")


class _LocalFileSystem:
    """The few fsspec filesystem methods a path uses, for local files, with the stdlib."""

    protocol = ("file", "local")

    def open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        return open(path, mode, **kwargs)

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def isfile(self, path: str) -> bool:
        return os.path.isfile(path)

    def isdir(self, path: str) -> bool:
        return os.path.isdir(path)

    def ls(self, path: str, detail: bool = False) -> list[str]:
        return sorted(os.path.join(path, name) for name in os.listdir(path))

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        os.makedirs(path, exist_ok=exist_ok)

    def mkdir(self, path: str, create_parents: bool = True) -> None:
        os.mkdir(path)

    def rm(self, path: str, recursive: bool = False) -> None:
        if os.path.isdir(path):
            shutil.rmtree(path) if recursive else os.rmdir(path)
        else:
            os.remove(path)

    def rmdir(self, path: str) -> None:
        os.rmdir(path)

    def info(self, path: str) -> dict[str, Any]:
        st = os.stat(path)
        kind = "directory" if os.path.isdir(path) else "file"
        return {"name": path, "size": st.st_size, "type": kind, "mtime": st.st_mtime}

    def touch(self, path: str, truncate: bool = True) -> None:
        Path(path).touch()

    def copy(self, src: str, dst: str, recursive: bool = False) -> None:
        if os.path.isdir(src):
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            shutil.copyfile(src, dst)

    def mv(self, src: str, dst: str, recursive: bool = False) -> None:
        shutil.move(src, dst)

    def glob(self, pattern: str) -> list[str]:
        import glob

        return sorted(glob.glob(pattern, recursive=True))

    def checksum(self, path: str) -> int:
        import hashlib

        digest = hashlib.md5(repr(self.info(path)).encode(), usedforsecurity=False)
        return int(digest.hexdigest(), 16)


def _filesystem(protocol: str, storage_options: dict[str, Any]) -> Any:
    if protocol in _LOCAL:
        try:
            import fsspec

            return fsspec.filesystem("file", **storage_options)
        except ImportError:
            return _LocalFileSystem()
    try:
        import fsspec
    except ImportError as exc:
        raise ImportError(
            f"ObjectStoragePath('{protocol}://...') needs fsspec, which is not installed: "
            f"pip install fsspec (and the package of the {protocol!r} filesystem), or use a "
            "local path (file://...)"
        ) from exc
    try:
        return fsspec.filesystem(protocol, **storage_options)
    except (ImportError, ValueError) as exc:
        raise ImportError(
            f"ObjectStoragePath: fsspec has no usable filesystem for {protocol!r} ({exc}): "
            "install the package that provides it (e.g. s3fs for s3://, gcsfs for gs://)"
        ) from exc


class ObjectStoragePath:
    """A path on local disk or in an object store, with pathlib's methods.

    Example:
        >>> base = ObjectStoragePath("file:///tmp/dagshift-example")
        >>> (base / "data.csv").key
        'tmp/dagshift-example/data.csv'
    """

    sep = "/"

    def __init__(self, *args: Any, conn_id: str | None = None, **storage_options: Any) -> None:
        if not args:
            args = (".",)
        first, *rest = [os.fspath(a) if isinstance(a, os.PathLike) else a for a in args]
        if isinstance(first, ObjectStoragePath):
            protocol, path = first.protocol, first.path
            conn_id = conn_id or first.conn_id
            storage_options = {**first.storage_options, **storage_options}
        else:
            protocol, user, path = _split(str(first))
            conn_id = conn_id or user
        for part in rest:
            path = str(PurePosixPath(path) / str(part))
        self.protocol = protocol
        self.path = path
        self.conn_id = conn_id
        self.storage_options = storage_options
        self._fs: Any = None

    # ------------------------------------------------------------------ naming
    def _with_path(self, path: str) -> ObjectStoragePath:
        new = object.__new__(type(self))
        new.protocol, new.path, new.conn_id = self.protocol, path, self.conn_id
        new.storage_options, new._fs = self.storage_options, self._fs
        return new

    def __str__(self) -> str:
        if self.protocol == "":
            return self.path
        user = f"{self.conn_id}@" if self.conn_id else ""
        return f"{self.protocol}://{user}{self.path}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}('{self}')"

    def __fspath__(self) -> str:
        if self.protocol not in _LOCAL:
            raise TypeError(f"{self} is not a local path")
        return self.path

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, ObjectStoragePath) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __truediv__(self, other: Any) -> ObjectStoragePath:
        return self.joinpath(other)

    def joinpath(self, *parts: Any) -> ObjectStoragePath:
        path = PurePosixPath(self.path).joinpath(*[str(p) for p in parts])
        return self._with_path(str(path))

    @property
    def _pure(self) -> PurePosixPath:
        return PurePosixPath(self.path)

    name = property(lambda self: self._pure.name)
    stem = property(lambda self: self._pure.stem)
    suffix = property(lambda self: self._pure.suffix)
    suffixes = property(lambda self: self._pure.suffixes)
    parts = property(lambda self: self._pure.parts)

    @property
    def parent(self) -> ObjectStoragePath:
        return self._with_path(str(self._pure.parent))

    def with_name(self, name: str) -> ObjectStoragePath:
        return self._with_path(str(self._pure.with_name(name)))

    def with_suffix(self, suffix: str) -> ObjectStoragePath:
        return self._with_path(str(self._pure.with_suffix(suffix)))

    @property
    def bucket(self) -> str:
        """The store's container (``""`` for local paths)."""
        if self.protocol in _LOCAL:
            return ""
        return self.path.split("/", 1)[0]

    container = bucket

    @property
    def key(self) -> str:
        """The path inside the bucket (local: without the leading slash)."""
        if self.protocol in _LOCAL:
            return self.path.lstrip("/")
        return self.path.split("/", 1)[1] if "/" in self.path else ""

    @property
    def namespace(self) -> str:
        return f"{self.protocol}://{self.bucket}" if self.bucket else self.protocol

    # ----------------------------------------------------------------- the store
    @property
    def fs(self) -> Any:
        if self._fs is None:
            self._fs = _filesystem(self.protocol, self.storage_options)
        return self._fs

    def exists(self) -> bool:
        return self.fs.exists(self.path)

    def is_file(self) -> bool:
        return self.fs.isfile(self.path)

    def is_dir(self) -> bool:
        return self.fs.isdir(self.path)

    def mkdir(self, mode: int = 0o777, parents: bool = False, exist_ok: bool = False) -> None:
        if self.exists():
            if exist_ok and self.is_dir():
                return
            raise FileExistsError(str(self))
        if parents:
            self.fs.makedirs(self.path, exist_ok=exist_ok)
        elif not self.parent.exists() and self.protocol in _LOCAL:
            raise FileNotFoundError(str(self.parent))
        else:
            self.fs.mkdir(self.path, create_parents=False)

    def touch(self, mode: int = 0o666, exist_ok: bool = True) -> None:
        if self.exists() and not exist_ok:
            raise FileExistsError(str(self))
        self.fs.touch(self.path, truncate=False) if self.exists() else self.fs.touch(self.path)

    def unlink(self, missing_ok: bool = False) -> None:
        if not self.exists():
            if missing_ok:
                return
            raise FileNotFoundError(str(self))
        self.fs.rm(self.path)

    def rmdir(self, recursive: bool = True) -> None:
        self.fs.rm(self.path, recursive=recursive)

    def open(self, mode: str = "r", **kwargs: Any) -> Any:
        return self.fs.open(self.path, mode, **kwargs)

    def read_bytes(self) -> bytes:
        with self.open("rb") as f:
            return f.read()

    def read_text(self, encoding: str | None = None, errors: str | None = None) -> str:
        return self.read_bytes().decode(encoding or "utf-8", errors or "strict")

    def write_bytes(self, data: bytes) -> int:
        with self.open("wb") as f:
            f.write(data)
        return len(data)

    def write_text(self, data: str, encoding: str | None = None, errors: str | None = None) -> int:
        return self.write_bytes(data.encode(encoding or "utf-8", errors or "strict"))

    def iterdir(self) -> Iterator[ObjectStoragePath]:
        for entry in self.fs.ls(self.path, detail=False):
            name = entry if isinstance(entry, str) else entry["name"]
            yield self._from_store(name)

    def glob(self, pattern: str) -> Iterator[ObjectStoragePath]:
        base = self.path.rstrip("/")
        for found in self.fs.glob(f"{base}/{pattern}"):
            yield self._from_store(found)

    def rglob(self, pattern: str) -> Iterator[ObjectStoragePath]:
        yield from self.glob(f"**/{pattern}")

    def match(self, pattern: str) -> bool:
        return self._pure.match(pattern) or fnmatch.fnmatch(self.path, pattern)

    def _from_store(self, name: str) -> ObjectStoragePath:
        """A path from a name the store gives (fsspec drops the leading slash of some)."""
        if self.path.startswith("/") and not name.startswith("/"):
            name = "/" + name
        elif not self.path.startswith("/"):
            name = name.lstrip("/")
        return self._with_path(name)

    def stat(self) -> os.stat_result | _Stat:
        if self.protocol in _LOCAL:
            return os.stat(self.path)
        return _Stat(self.fs.info(self.path))

    def size(self) -> int:
        return int(self.fs.info(self.path)["size"])

    def checksum(self) -> int:
        return int(self.fs.checksum(self.path))

    def copy(self, dst: str | ObjectStoragePath, recursive: bool = False, **kwargs: Any) -> None:
        """Copy to ``dst`` (a path in the same or another store)."""
        target = dst if isinstance(dst, ObjectStoragePath) else ObjectStoragePath(dst)
        if type(self.fs) is type(target.fs) and self.protocol == target.protocol:
            self.fs.copy(self.path, target.path, recursive=recursive)
            return
        if self.is_dir():
            for child in self.iterdir():
                child.copy(target / child.name, recursive=recursive)
            return
        target.write_bytes(self.read_bytes())

    def move(self, path: str | ObjectStoragePath, recursive: bool = False, **kwargs: Any) -> None:
        target = path if isinstance(path, ObjectStoragePath) else ObjectStoragePath(path)
        if type(self.fs) is type(target.fs) and self.protocol == target.protocol:
            self.fs.mv(self.path, target.path, recursive=recursive)
            return
        self.copy(target, recursive=recursive)
        self.fs.rm(self.path, recursive=True)

    def serialize(self) -> dict[str, Any]:
        return {"path": str(self), "conn_id": self.conn_id, "kwargs": dict(self.storage_options)}

    @classmethod
    def deserialize(cls, data: dict, version: int = 1) -> ObjectStoragePath:
        return cls(data["path"], conn_id=data.get("conn_id"), **data.get("kwargs", {}))


class _Stat:
    """``stat()`` of a stored object: its size and modification time where the store says."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.st_size = int(info.get("size") or 0)
        self.st_mtime = info.get("mtime") or info.get("LastModified")
        self.info = info


def _split(url: str) -> tuple[str, str | None, str]:
    """(protocol, connection id, path) of a URL or a plain path."""
    if "://" not in url:
        return "", None, url
    parts = urlsplit(url)
    protocol = parts.scheme
    user = parts.username
    if protocol in _LOCAL:
        return protocol, user, parts.path or "/"
    host = parts.netloc.rsplit("@", 1)[-1]
    return protocol, user, host + parts.path
