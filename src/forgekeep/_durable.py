"""Durable, atomic file writes.

Security rule: nothing half-written is ever visible under its final name. A
file is written to a temporary name in the same directory, flushed and
``fsync``-ed, renamed into place, and then the directory is ``fsync``-ed so the
rename itself survives a crash. A full disk surfaces as :class:`DiskFullError`
and leaves no temporary file behind.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from forgekeep.errors import DiskFullError, StorageError

TEMP_PREFIX = ".fk-tmp-"


def fsync_dir(directory: Path) -> None:
    """Make a directory's entries (creations, renames) durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_path_for(final: Path) -> Path:
    """A fresh temporary name beside ``final`` (same filesystem, so rename is atomic)."""
    return final.with_name(f"{TEMP_PREFIX}{secrets.token_hex(8)}-{final.name}")


def translate_os_error(exc: OSError, what: str, *, hint: str | None = None) -> StorageError:
    """Map an OS error to our error tree (ENOSPC and EDQUOT become DiskFullError)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFullError(f"no space left while writing {what}", hint=hint)
    return StorageError(f"could not write {what}: {exc.strerror or exc}", hint=hint)


OUTPUT_HINT = "free space (or fix permissions) where the output goes and retry; nothing was written"


@contextlib.contextmanager
def atomic_writer(final: Path, *, mode: int = 0o600, hint: str | None = None) -> Iterator[BinaryIO]:
    """Open a temp file beside ``final``; on clean exit fsync, rename and fsync the dir.

    On any exception the temporary file is removed and ``final`` is untouched.
    """
    tmp = temp_path_for(final)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except OSError as exc:
        raise translate_os_error(exc, str(final.name), hint=hint) from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(final)
        fsync_dir(final.parent)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise translate_os_error(exc, str(final.name), hint=hint) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(final: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Write ``data`` to ``final`` atomically and durably."""
    with atomic_writer(final, mode=mode) as handle:
        handle.write(data)


def write_new(final: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Like :func:`write_atomic`, but never replaces an existing file.

    The complete, fsynced temp file is published with ``link``, which fails if
    ``final`` appeared meanwhile, so a concurrent writer is never overwritten.
    Raises ``FileExistsError`` in that case.
    """
    tmp = temp_path_for(final)
    try:
        with atomic_writer(tmp, mode=mode) as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
        os.link(tmp, final)
        fsync_dir(final.parent)
    except FileExistsError:
        raise
    except OSError as exc:
        raise translate_os_error(exc, str(final.name)) from exc
    finally:
        tmp.unlink(missing_ok=True)
