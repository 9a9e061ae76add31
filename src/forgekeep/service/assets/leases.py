"""Upload leases: which uploads are in flight, shared through the metadata database.

A put holds a lease on its version id from before its upload record is written
until its version commits or is abandoned; ``fsck --repair`` removes an
upload's debris only while holding that lease itself. A lease is an
``upload_leases`` row naming its owner (a random id per upload, plus host and
pid for diagnosis) and when it expires.

Security rules:

* Only the owner renews or releases its lease; every renewal, release and
  take-over is an UPDATE or DELETE that names the owner it expects, so two
  processes never both believe they hold one lease.
* While the upload runs, a timer thread renews the lease every third of
  ``[uploads] lease_seconds``, so a put of any size keeps it. A renewal that
  finds the lease taken marks it lost, and the put then refuses to commit
  (:class:`LeaseLostError`), since its blob may have been swept.
* A lease is taken over only once it has expired (the injectable clock), and
  never while its owner is a live process on this host, whatever the clock
  says. A crashed owner's lease is therefore taken over after it expires, and
  a lease held by a live process never is.
* The put checks, with the row locked, that it still holds its lease in the
  very transaction that commits its version, and deletes the row in it: the
  commit that makes the version visible also releases the lease.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

import structlog
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from forgekeep.db.state import UploadLease
from forgekeep.errors import ConflictError, ForgekeepError, LeaseLostError
from forgekeep.service.context import ServiceContext

_log = structlog.get_logger("forgekeep.leases")
#: Renewals per lease lifetime: the lease survives two failed renewals in a row.
RENEWALS_PER_TTL: Final = 3
#: How long closing a lease waits for its renewal thread, seconds.
_JOIN_TIMEOUT: Final = 5.0


def _host() -> str:
    return socket.gethostname()[:255]


def pid_alive(pid: int) -> bool:
    """True if a process with ``pid`` exists on this host (signal 0 probes, sends nothing)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    except (OverflowError, ValueError):
        return False
    return True


def _ttl(ctx: ServiceContext) -> dt.timedelta:
    return dt.timedelta(seconds=ctx.settings.uploads.lease_seconds)


def is_live(row: UploadLease, now: dt.datetime) -> bool:
    """A lease nobody may take over: not expired, or its owner still runs on this host."""
    return now < row.expires_at or (row.host == _host() and pid_alive(row.pid))


def _row(session: Session, version_hex: str) -> UploadLease | None:
    return session.get(UploadLease, version_hex, with_for_update=True, populate_existing=True)


def _claim(ctx: ServiceContext, version_hex: str) -> str | None:
    """Take the lease on ``version_hex`` unless it is live; the new owner id, or None."""
    owner, now = secrets.token_hex(16), ctx.clock.now()
    with ctx.sessions() as session:
        row = _row(session, version_hex)
        if row is not None and is_live(row, now):
            return None
        if row is None:
            row = UploadLease(version_id=version_hex, tenant_id=ctx.tenant_id)
            session.add(row)
        row.owner, row.host, row.pid = owner, _host(), os.getpid()
        row.acquired_at, row.expires_at = now, now + _ttl(ctx)
        try:
            session.commit()
        except IntegrityError:  # another process inserted it first (no row to lock before)
            session.rollback()
            return None
    return owner


def take_over(ctx: ServiceContext, version_hex: str) -> str | None:
    """For fsck: the lease of an upload that is not in flight, or None while one is."""
    return _claim(ctx, version_hex)


def renew(ctx: ServiceContext, version_hex: str, owner: str) -> bool:
    """Push the lease's expiry forward; False if ``owner`` no longer holds it."""
    with ctx.sessions() as session:
        done = session.execute(
            update(UploadLease)
            .where(UploadLease.version_id == version_hex, UploadLease.owner == owner)
            .values(expires_at=ctx.clock.now() + _ttl(ctx))
            .execution_options(synchronize_session=False)
        )
        session.commit()
    return getattr(done, "rowcount", 0) == 1


def release(ctx: ServiceContext, version_hex: str, owner: str) -> None:
    """Give the lease up (only if ``owner`` still holds it)."""
    with ctx.sessions() as session:
        session.execute(
            delete(UploadLease)
            .where(UploadLease.version_id == version_hex, UploadLease.owner == owner)
            .execution_options(synchronize_session=False)
        )
        session.commit()


def upload_in_progress(ctx: ServiceContext, version_hex: str) -> bool:
    """True while a live lease covers the upload of ``version_hex``."""
    with ctx.sessions() as session:
        row = session.get(UploadLease, version_hex)
        return row is not None and is_live(row, ctx.clock.now())


def expired_leases(ctx: ServiceContext) -> list[UploadLease]:
    """Leases that may be taken over now (expired, their owner not running here)."""
    now = ctx.clock.now()
    with ctx.sessions() as session:
        rows = session.scalars(
            select(UploadLease)
            .where(UploadLease.tenant_id == ctx.tenant_id)
            .order_by(UploadLease.version_id)
        ).all()
        return [row for row in rows if not is_live(row, now)]


@dataclass(slots=True)
class Lease:
    """A lease held by this process, renewed by a timer thread until it is closed."""

    ctx: ServiceContext
    version_hex: str
    owner: str
    lost: threading.Event = field(default_factory=threading.Event)
    stopped: threading.Event = field(default_factory=threading.Event)
    #: Set by the owner once the transaction that :meth:`check` joined has committed.
    committed: bool = False

    def renew_until_stopped(self, interval: float) -> None:
        """The renewal thread's job: renew every ``interval`` seconds until stopped or lost."""
        while not self.stopped.wait(interval):
            try:
                if not renew(self.ctx, self.version_hex, self.owner):
                    self.lost.set()
                    return
            except (ForgekeepError, SQLAlchemyError) as exc:  # retried at the next tick
                _log.warning("lease renewal failed", version=self.version_hex, error=str(exc))

    def check(self, session: Session) -> None:
        """Inside the committing transaction: refuse unless this lease is still ours.

        The row is deleted in that same transaction, so the commit that makes the
        upload's version visible also releases the lease (set :attr:`committed`
        after it); if the transaction rolls back, the lease stays until it closes.
        """
        row = _row(session, self.version_hex)
        if self.lost.is_set() or row is None or row.owner != self.owner:
            raise LeaseLostError(
                f"the lease of upload {self.version_hex} expired and was taken over"
            )
        session.delete(row)


@contextlib.contextmanager
def upload_lease(ctx: ServiceContext, version_hex: str) -> Iterator[Lease]:
    """Hold the upload's lease while the block runs, renewed in the background."""
    owner = _claim(ctx, version_hex)
    if owner is None:
        raise ConflictError(f"upload {version_hex} is leased by another process")
    lease = Lease(ctx, version_hex, owner)
    interval = ctx.settings.uploads.lease_seconds / RENEWALS_PER_TTL
    renewer = threading.Thread(
        target=lease.renew_until_stopped,
        args=(interval,),
        name=f"lease-{version_hex[:8]}",
        daemon=True,
    )
    renewer.start()
    try:
        yield lease
    finally:
        lease.stopped.set()
        renewer.join(_JOIN_TIMEOUT)
        if not lease.committed:
            with contextlib.suppress(ForgekeepError, SQLAlchemyError):
                release(ctx, version_hex, owner)  # else it expires by itself
