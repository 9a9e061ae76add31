"""Child process for test_kill9: put one file through the Python API, SIGKILL itself on cue.

usage: python _put_child.py WORKSPACE SOURCE PROJECT NAME   (one put; FK_TEST_KILL_AT)
       python _put_child.py --serve                          (fork server, see serve())

The kill point (``FK_TEST_KILL_AT``, or ``kill_at`` of a fork-server request) picks
where the process dies (``os.kill(getpid(), SIGKILL)``,
so no ``finally``, no ``atexit``, no flush runs):

* ``none``: never; the parent may kill it at a random time instead;
* ``before-register`` / ``after-register``: around the upload record's commit;
* ``read:N``: when asked to read more source once N bytes were read (``read:0``
  dies on the first read, before any byte);
* ``progress:N``: once the progress callback reported N bytes;
* ``before-rename`` / ``after-rename``: around the rename of the blob's temporary file;
* ``before-commit``: after the blob is durable, before the version's transaction;
* ``mid-commit``: inside that transaction, its rows flushed but not committed;
* ``after-commit``: once the version committed, before the put returns.

Prints ``started PID`` (flushed) right before the put, ``done PID ASSET VERSION`` after it.
The passphrase comes from ``FORGEKEEP_PASSPHRASE``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import forgekeep
from forgekeep._durable import TEMP_PREFIX
from forgekeep.config import load_settings
from forgekeep.service.assets import writing as assets


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _around(module: Any, attribute: str, *, before: bool) -> None:
    original: Callable[..., Any] = getattr(module, attribute)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if before:
            die()
        result = original(*args, **kwargs)
        die()
        return result

    setattr(module, attribute, wrapper)


def _patch_rename(*, before: bool) -> None:
    real_rename = os.rename

    def rename(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        temporary = Path(os.fsdecode(src)).name.startswith(TEMP_PREFIX)
        if temporary and before:
            die()
        real_rename(src, dst, *args, **kwargs)
        if temporary:
            die()

    os.rename = rename  # type: ignore[assignment]


def _patch_mid_commit() -> None:
    def commit_with_event(session: Any, ctx: Any, event: Any) -> None:
        ctx.journal.append(session, event)
        session.flush()  # every row of the version is written, the transaction is open
        die()

    assets.commit_with_event = commit_with_event  # type: ignore[assignment]


class KillingReader:
    """The source file, dying when asked for more once ``limit`` bytes were read."""

    def __init__(self, handle: BinaryIO, limit: int) -> None:
        self._handle = handle
        self._limit = limit
        self._done = 0

    def read(self, size: int = -1) -> bytes:
        if self._done >= self._limit:
            die()
        data = self._handle.read(size)
        self._done += len(data)
        return data


def put_once(home: Path, source: Path, project: str, name: str, point: str) -> int:
    """The put itself, dying at ``point``; returns an exit code when it survives."""
    kind, _, count = point.partition(":")
    limit = int(count) if count else 0
    seen = 0

    def progress(n: int) -> None:
        nonlocal seen
        seen += n
        if kind == "progress" and seen >= limit:
            die()

    hooks: dict[str, Callable[[], None]] = {
        "before-register": lambda: _around(assets, "_register_upload", before=True),
        "after-register": lambda: _around(assets, "_register_upload", before=False),
        "before-rename": lambda: _patch_rename(before=True),
        "after-rename": lambda: _patch_rename(before=False),
        "before-commit": lambda: _around(assets, "_commit_version", before=True),
        "mid-commit": _patch_mid_commit,
        "after-commit": lambda: _around(assets, "_commit_version", before=False),
    }
    if kind in hooks:
        hooks[kind]()
    elif kind not in ("none", "read", "progress"):
        sys.stderr.write(f"unknown kill point {point!r}\n")
        return 2

    principal = load_settings(home).workspace.principal
    passphrase = os.environ["FORGEKEEP_PASSPHRASE"].encode()
    with (
        forgekeep.open_workspace(home, passphrase=passphrase, principal=principal) as vault,
        source.open("rb") as handle,
    ):
        src: Any = KillingReader(handle, limit) if kind == "read" else handle
        sys.stdout.write(f"started {os.getpid()}\n")
        sys.stdout.flush()
        result = vault.assets.put(src, project=project, name=name, progress=progress)
    sys.stdout.write(f"done {os.getpid()} {result.asset_id} {result.version}\n")
    sys.stdout.flush()
    return 0


def serve() -> int:
    """Fork server: one JSON request a line on stdin, one forked put per request.

    Importing Forgekeep takes most of a child's start-up; forking from this
    process, which has imported everything but opened nothing and runs no
    thread, makes each put a fresh process in milliseconds. For each request
    it prints ``pid N``; the child prints ``started N`` (and ``done N …``);
    when the child is gone it prints ``exit N CODE`` (``-9`` after SIGKILL).
    """
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:  # the child: do the put, never return into the loop
            code = 1
            try:
                code = put_once(
                    Path(request["home"]),
                    Path(request["source"]),
                    request["project"],
                    request["name"],
                    request["kill_at"],
                )
            except BaseException:  # noqa: BLE001 (reported to the test through stderr)
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        sys.stdout.write(f"pid {pid}\n")
        sys.stdout.flush()
        _, status = os.waitpid(pid, 0)
        sys.stdout.write(f"exit {pid} {os.waitstatus_to_exitcode(status)}\n")
        sys.stdout.flush()
    return 0


def main() -> int:
    if sys.argv[1:] == ["--serve"]:
        return serve()
    home, source, project, name = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
    return put_once(home, source, project, name, os.environ.get("FK_TEST_KILL_AT", "none"))


if __name__ == "__main__":
    sys.exit(main())
