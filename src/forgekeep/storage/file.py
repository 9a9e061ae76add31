"""The ``file:`` blob store: one directory tree per site, the embedded default.

Security and durability rules:

* A key reaches the filesystem only after :func:`validate_blob_key`; key
  ``a/b/c`` is the file ``<root>/a/b/c`` and nothing else.
* The store never follows a symlink below its root: every component is opened
  relative to its parent's descriptor with ``O_NOFOLLOW`` (see ``_fsdir``), and
  only regular files are blobs.
* ``put`` writes a temporary file (``_durable.TEMP_PREFIX``) beside the final
  name, fsyncs it, renames it over the final name and fsyncs the directory.
  Nothing half-written is ever visible under a key. When ``put`` raises (full
  disk, I/O error, or the producer's own exception) its temporary file is
  removed and the previous blob, if any, is untouched.
* Temporary files left by a killed process are never listed as blobs;
  :meth:`FileBlobStore.list_temporaries` and
  :meth:`FileBlobStore.remove_temporary` let ``fsck --repair`` clean them up.
* The root is created ``0700``, directories ``0700``, blobs ``0600``.
* Only Forgekeep errors escape, except the producer's own exception, which
  propagates unchanged.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Final
from urllib.parse import unquote, urlsplit

from forgekeep._durable import fsync_dir, temp_path_for, translate_os_error
from forgekeep.errors import (
    BlobNotFoundError,
    ConfigError,
    ConflictError,
    ForgekeepError,
    StorageError,
)
from forgekeep.storage._chunks import byte_view, is_immutable
from forgekeep.storage._fsdir import DIR_MODE, DirChain, modified_at, symlink_refused, walk
from forgekeep.storage._keys import (
    validate_blob_key,
    validate_blob_prefix,
    validate_temporary_key,
)
from forgekeep.storage.protocol import BlobInfo

FILE_MODE: Final = 0o600
#: Reads are streamed in 1 MiB pieces; the buffer matches so small reads stay cheap.
READ_BUFFER_BYTES: Final = 1 << 20
#: Small immutable chunks are gathered into one ``writev`` of about this size.
WRITE_BATCH_BYTES: Final = 1 << 20
_IOV_MAX: Final = min(os.sysconf("SC_IOV_MAX"), 1024)
_READ_FLAGS: Final = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_TEMP_FLAGS: Final = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
#: A concurrent delete may prune the directory a put has just opened; walk again.
_PUT_ATTEMPTS: Final = 4


def _map_os_error(exc: OSError, key: str, *, writing: bool) -> ForgekeepError:
    if exc.errno == errno.ELOOP:
        return symlink_refused(key)
    if writing and exc.errno in (errno.ENOTDIR, errno.EISDIR):
        return ConflictError(f"{key!r} collides with a blob or a directory of blobs")
    if not writing and exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return BlobNotFoundError(f"no blob {key!r}")
    return translate_os_error(exc, key)


@contextlib.contextmanager
def _os_errors(key: str, *, writing: bool) -> Iterator[None]:
    """Translate OS errors raised in the block into the Forgekeep error tree."""
    try:
        yield
    except OSError as exc:
        raise _map_os_error(exc, key, writing=writing) from exc


def _require_blob(key: str, st: os.stat_result) -> None:
    if stat.S_ISLNK(st.st_mode):
        raise symlink_refused(key)
    if not stat.S_ISREG(st.st_mode):
        raise BlobNotFoundError(f"no blob {key!r}")


def _remaining(views: list[memoryview], written: int) -> list[memoryview]:
    """What is left of ``views`` after the first ``written`` bytes went out."""
    for index, view in enumerate(views):
        if written < view.nbytes:
            return [view[written:], *views[index + 1 :]]
        written -= view.nbytes
    return []


class _Writer:
    """Writes chunks to a descriptor: large or mutable ones at once, small immutable ones
    gathered into ``writev`` batches. A mutable chunk is never held past its turn."""

    def __init__(self, fd: int, key: str) -> None:
        self._fd = fd
        self._key = key
        self._batch: list[memoryview] = []
        self._pending = 0
        self.size = 0

    def add(self, view: memoryview) -> None:
        self.size += view.nbytes
        if view.nbytes >= WRITE_BATCH_BYTES or not is_immutable(view):
            self.flush()
            self._write([view])
            return
        self._batch.append(view)
        self._pending += view.nbytes
        if self._pending >= WRITE_BATCH_BYTES or len(self._batch) >= _IOV_MAX:
            self.flush()

    def flush(self) -> None:
        if self._batch:
            self._write(self._batch)
            self._batch = []
            self._pending = 0

    def _write(self, views: list[memoryview]) -> None:
        try:
            while views:
                views = _remaining(views, os.writev(self._fd, views))
        except OSError as exc:
            raise translate_os_error(exc, self._key) from exc


class _Upload:
    """A temporary file beside a blob's final name: committed by rename, or removed."""

    def __init__(self, dirs: DirChain, name: str) -> None:
        self._dirs = dirs
        self._name = name
        self._temp = temp_path_for(Path(name)).name
        self.fd = os.open(self._temp, _TEMP_FLAGS, FILE_MODE, dir_fd=dirs.parent)
        self._fd_open = True

    def commit(self) -> os.stat_result:
        """fsync the data, rename over the final name, fsync the directory."""
        os.fsync(self.fd)
        st = os.fstat(self.fd)
        self._close_fd()
        parent = self._dirs.parent
        os.rename(self._temp, self._name, src_dir_fd=parent, dst_dir_fd=parent)
        os.fsync(parent)
        return st

    def _close_fd(self) -> None:
        if self._fd_open:
            self._fd_open = False
            os.close(self.fd)

    def __enter__(self) -> _Upload:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._close_fd()
        if exc_type is not None:  # best effort: fsck finds a temp we could not remove
            with contextlib.suppress(OSError):
                os.unlink(self._temp, dir_fd=self._dirs.parent)
        self._dirs.close()


def _prepare_root(root: Path, *, create: bool) -> Path:
    """Create the root 0700 when missing (fsyncing its parent); return it resolved.

    With ``create=False`` a missing root is an error: a site whose disk is not
    mounted must not silently become a folder on another volume.
    """
    if not create:
        if not root.is_dir():
            raise StorageError(
                f"the store root {str(root)!r} is missing",
                hint="mount the site's volume, or check the site's uri; nothing was written",
            )
        return root.resolve()
    try:
        root.mkdir(mode=DIR_MODE, parents=True)
    except FileExistsError:
        if not root.is_dir():
            raise ConfigError(f"the store root {str(root)!r} is not a directory") from None
    except OSError as exc:
        raise translate_os_error(exc, str(root)) from exc
    else:
        root.chmod(DIR_MODE)
        fsync_dir(root.parent)
    return root.resolve()


class FileBlobStore:
    """A BlobStore in a local directory tree (see the module docstring for the rules)."""

    def __init__(self, root: Path, *, uri: str | None = None, create: bool = True) -> None:
        self._root = _prepare_root(Path(root), create=create)
        self._uri = uri if uri is not None else self._root.as_uri()

    def __repr__(self) -> str:
        return f"FileBlobStore({str(self._root)!r})"

    @property
    def uri(self) -> str:
        return self._uri

    @property
    def root(self) -> Path:
        return self._root

    def put(self, key: str, chunks: Iterable[bytes | memoryview]) -> BlobInfo:
        names = validate_blob_key(key).split("/")
        with _os_errors(key, writing=True):
            upload = self._begin_upload(names)
        with upload:
            writer = _Writer(upload.fd, key)
            for chunk in chunks:  # the producer's own exceptions propagate unchanged
                writer.add(byte_view(chunk))
            writer.flush()
            with _os_errors(key, writing=True):
                st = upload.commit()
        return BlobInfo(key=key, size=writer.size, modified_at=modified_at(st))

    def _begin_upload(self, names: list[str]) -> _Upload:
        for _ in range(_PUT_ATTEMPTS):
            dirs = DirChain(self._root, names[:-1], create=True)
            try:
                return _Upload(dirs, names[-1])
            except FileNotFoundError:  # the directory was pruned under us
                dirs.close()
            except BaseException:
                dirs.close()
                raise
        raise StorageError(f"the directory for {'/'.join(names)!r} kept disappearing")

    def get(self, key: str) -> BinaryIO:
        names = validate_blob_key(key).split("/")
        with _os_errors(key, writing=False), DirChain(self._root, names[:-1], create=False) as dirs:
            fd = os.open(names[-1], _READ_FLAGS, dir_fd=dirs.parent)
        try:
            with _os_errors(key, writing=False):
                _require_blob(key, os.fstat(fd))
                os.set_blocking(fd, True)
            return os.fdopen(fd, "rb", buffering=READ_BUFFER_BYTES)
        except BaseException:
            os.close(fd)
            raise

    def stat(self, key: str) -> BlobInfo:
        names = validate_blob_key(key).split("/")
        with _os_errors(key, writing=False), DirChain(self._root, names[:-1], create=False) as dirs:
            st = os.stat(names[-1], dir_fd=dirs.parent, follow_symlinks=False)
        _require_blob(key, st)
        return BlobInfo(key=key, size=st.st_size, modified_at=modified_at(st))

    def delete(self, key: str) -> None:
        self._unlink(validate_blob_key(key).split("/"), key)

    def _unlink(self, names: list[str], key: str) -> None:
        """Remove one file (missing is fine), fsync its directory, prune empty parents."""
        with _os_errors(key, writing=True):
            try:
                dirs = DirChain(self._root, names[:-1], create=False)
            except (FileNotFoundError, NotADirectoryError):
                return
            with dirs:
                try:
                    os.unlink(names[-1], dir_fd=dirs.parent)
                except (FileNotFoundError, IsADirectoryError):
                    return
                os.fsync(dirs.parent)
                dirs.prune()

    def list(self, prefix: str = "") -> Iterator[BlobInfo]:
        return self._walk(validate_blob_prefix(prefix), temporaries=False)

    def list_temporaries(self) -> Iterator[BlobInfo]:
        """Temporary files left behind (e.g. by a killed process), in key order."""
        return self._walk("", temporaries=True)

    def remove_temporary(self, key: str) -> None:
        """Remove one leftover temporary file; only temporary names are accepted."""
        self._unlink(validate_temporary_key(key), key)

    def _walk(self, prefix: str, *, temporaries: bool) -> Iterator[BlobInfo]:
        base, _, partial = prefix.rpartition("/")
        names = base.split("/") if base else []
        key_prefix = f"{base}/" if base else ""
        with _os_errors(prefix, writing=False):
            try:
                dirs = DirChain(self._root, names, create=False)
            except (FileNotFoundError, NotADirectoryError):
                return
            with dirs:
                yield from walk(dirs.parent, key_prefix, starting=partial, temporaries=temporaries)


def _root_from_uri(uri: str, base_dir: Path | None) -> Path:
    parts = urlsplit(uri)
    if parts.scheme != "file" or parts.netloc or parts.query or parts.fragment:
        raise ConfigError(
            "a file: store URI is file:RELATIVE/PATH or file:///ABSOLUTE/PATH",
            hint="no host, query or fragment; relative paths are below the workspace",
        )
    path = unquote(parts.path)
    if not path or "\x00" in path:
        raise ConfigError("a file: store URI needs a path (and no NUL)")
    if path.startswith("/"):
        return Path(path)
    if base_dir is None:
        raise ConfigError(f"the relative store URI {uri!r} needs a base directory")
    return Path(base_dir) / path


def open_file_store(
    uri: str, *, base_dir: Path | None = None, create: bool = True, **options: object
) -> FileBlobStore:
    """Open the ``file:`` store named by ``uri`` (the registry's factory).

    ``create=False`` refuses a missing root instead of creating it.
    """
    if options:
        raise ConfigError(f"file: stores take no options, got {sorted(options)}")
    return FileBlobStore(_root_from_uri(uri, base_dir), uri=uri, create=create)
