"""Walking a store's directory tree by descriptors, never following a symlink.

Security rule: below the store root every path component is opened relative
to its parent's descriptor with ``O_NOFOLLOW``, so a symlink planted in the
tree (even between a check and its use) is refused with
:class:`StorageError`, never followed out of the root. Directories are created
``0700`` and each creation is made durable by fsyncing the parent.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Final

from forgekeep._durable import TEMP_PREFIX
from forgekeep.errors import StorageError
from forgekeep.storage._keys import is_blob_segment
from forgekeep.storage.protocol import BlobInfo

DIR_MODE: Final = 0o700
_DIR_FLAGS: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def symlink_refused(where: str) -> StorageError:
    return StorageError(
        f"refusing to follow a symlink at {where!r} under the store root",
        hint="blob stores never follow symlinks; remove the link and run `forgekeep fsck`",
    )


def _refuse_if_symlink(parent: int, name: str) -> None:
    if stat.S_ISLNK(os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode):
        raise symlink_refused(name)


def _open_child_dir(parent: int, name: str, *, create: bool) -> int:
    """Open directory ``name`` below ``parent``, creating it (0700) when asked."""
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent)
    except FileNotFoundError:
        if not create:
            raise
    except NotADirectoryError:  # a blob, or a symlink (O_NOFOLLOW|O_DIRECTORY says ENOTDIR)
        _refuse_if_symlink(parent, name)
        raise
    with contextlib.suppress(FileExistsError):  # another writer may have made it first
        os.mkdir(name, DIR_MODE, dir_fd=parent)
        os.fsync(parent)
    return _open_child_dir(parent, name, create=False)


def _open_root(root: Path) -> int:
    try:
        return os.open(root, _DIR_FLAGS)
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise StorageError(
            f"the store root {str(root)!r} is missing or is no longer a directory",
            hint="check the site's path; a store root may not be replaced by a file or symlink",
        ) from exc


class DirChain:
    """Open descriptors of the root and each directory down to a key's parent."""

    def __init__(self, root: Path, names: Sequence[str], *, create: bool) -> None:
        self._names = list(names)
        self._fds = [_open_root(root)]
        try:
            for name in self._names:
                self._fds.append(_open_child_dir(self._fds[-1], name, create=create))
        except BaseException:
            self.close()
            raise

    @property
    def parent(self) -> int:
        """Descriptor of the deepest directory (the key's parent)."""
        return self._fds[-1]

    def prune(self) -> None:
        """Remove directories left empty, deepest first; stop at the first that is not."""
        for depth in range(len(self._names) - 1, -1, -1):
            try:
                os.rmdir(self._names[depth], dir_fd=self._fds[depth])
            except OSError:
                return
            os.fsync(self._fds[depth])

    def close(self) -> None:
        while self._fds:
            os.close(self._fds.pop())

    def __enter__(self) -> DirChain:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def modified_at(st: os.stat_result) -> dt.datetime:
    """A file's modification time as an aware UTC datetime."""
    return dt.datetime.fromtimestamp(st.st_mtime, tz=dt.UTC)


def _entries(fd: int, starting: str) -> list[tuple[str, bool]]:
    """``(name, is_dir)`` of the directory's entries starting with ``starting``, in key order.

    A directory sorts as ``name/`` so that walking it yields keys in the order
    of their full strings (``a-c`` < ``a/b`` < ``a0``).
    """
    with os.scandir(fd) as scan:
        found = [
            (e.name, e.is_dir(follow_symlinks=False)) for e in scan if e.name.startswith(starting)
        ]
    found.sort(key=lambda entry: entry[0] + "/" if entry[1] else entry[0])
    return found


def _file_info(fd: int, name: str, key: str) -> BlobInfo | None:
    """BlobInfo of a regular file; ``None`` if it vanished or is not a regular file."""
    try:
        st = os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:  # deleted while we walked
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return BlobInfo(key=key, size=st.st_size, modified_at=modified_at(st))


def _walk_child(fd: int, name: str, key_prefix: str, *, temporaries: bool) -> Iterator[BlobInfo]:
    try:
        child = os.open(name, _DIR_FLAGS, dir_fd=fd)
    except FileNotFoundError:  # pruned while we walked
        return
    try:
        yield from walk(child, key_prefix, temporaries=temporaries)
    finally:
        os.close(child)


def walk(fd: int, key_prefix: str, *, starting: str = "", temporaries: bool) -> Iterator[BlobInfo]:
    """Blobs (or, with ``temporaries``, leftover temp files) below ``fd`` in key order.

    Symlinks, special files and names that cannot be key segments are not
    blobs and are skipped; only names starting with ``starting`` are visited
    at the top level.
    """
    for name, is_dir in _entries(fd, starting):
        if is_dir:
            if is_blob_segment(name):
                yield from _walk_child(fd, name, f"{key_prefix}{name}/", temporaries=temporaries)
            continue
        wanted = name.startswith(TEMP_PREFIX) if temporaries else is_blob_segment(name)
        info = _file_info(fd, name, key_prefix + name) if wanted else None
        if info is not None:
            yield info
