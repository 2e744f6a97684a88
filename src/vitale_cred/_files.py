"""Local files: typed errors for the operating system's refusals, and private keys.

The command line and the issuer directory are the only places that touch files;
they share these helpers so that a missing directory, a directory where a file is
expected or a refused permission always carries the same ``io.*`` code.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

from .errors import (
    FileAccessError,
    FileExists,
    FileIsDirectory,
    FileMissing,
    FileNotDirectory,
    FilePermissionDenied,
)

__all__ = ["check_output", "file_error", "write_private"]

_BY_ERRNO: dict[int, type[FileAccessError]] = {
    errno.ENOENT: FileMissing,
    errno.EISDIR: FileIsDirectory,
    errno.ENOTDIR: FileNotDirectory,
    errno.EACCES: FilePermissionDenied,
    errno.EPERM: FilePermissionDenied,
    errno.EEXIST: FileExists,
}


def file_error(
    exc: OSError, doing: str, path: str | os.PathLike[str] | None = None
) -> FileAccessError:
    """The typed error for ``exc``, raised while ``doing`` (a verb: "read", "write")."""
    name = path if path is not None else exc.filename
    cls = _BY_ERRNO.get(exc.errno or 0, FileAccessError)
    reason = exc.strerror or type(exc).__name__
    where = f" {os.fspath(name)}" if name is not None else ""
    return cls(f"cannot {doing}{where}: {reason}")


def check_output(path: Path, *, create_parents: bool = False) -> None:
    """Raise the error writing a file at ``path`` would meet, before any work is done.

    Commands that compute for a while (a benchmark, a signature in an HSM) check
    their output first, so that a mistyped path costs nothing. With
    ``create_parents`` the missing directories will be created by the writer: the
    nearest existing one must then be a writable directory.
    """
    if path.is_dir():
        raise FileIsDirectory(f"cannot write {path}: it is a directory")
    if path.exists():
        target = path
    else:
        # Path(".") ends the parents of a relative path and always exists.
        target = next(p for p in path.parents if p.exists())
        if target != path.parent and not create_parents:
            raise FileMissing(f"cannot write {path}: directory {path.parent} does not exist")
        if not target.is_dir():
            raise FileNotDirectory(f"cannot write {path}: {target} is not a directory")
    if not os.access(target, os.W_OK):
        raise FilePermissionDenied(f"cannot write {path}: permission denied")


def write_private(path: Path, data: bytes) -> None:
    """Write a private key: mode 0600 from creation, and atomically.

    The temporary file is created by ``mkstemp`` (mode 0600, never wider) in the
    target's directory, so that ``os.replace`` is a rename within one file system:
    a reader sees the old key or the new one, and a failed write leaves no partial
    key behind.
    """
    try:
        handle, temporary = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
        )
    except OSError as exc:
        raise file_error(exc, "write", path) from exc
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise file_error(exc, "write", path) from exc
    except BaseException:
        # Ctrl-C in the middle of a write must not leave key material lying around.
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
