"""Upload leases in the database: live leases are never taken over, dead ones only after expiry."""

from __future__ import annotations

import datetime as dt
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from forgekeep.clock import ManualClock
from forgekeep.db.state import UploadLease
from forgekeep.errors import LeaseLostError
from forgekeep.service.assets import leases as _leases
from forgekeep.service.vault import Vault
from forgekeep.service.wiring import open_vault
from forgekeep.service.workspace.create import InitResult
from forgekeep.testing.internals import context_of

CHILD = Path(__file__).with_name("_lease_child.py")
VERSION = "1e" * 16


def _set_lease_seconds(home: Path, seconds: int) -> None:
    config = home / "forgekeep.toml"
    config.write_text(
        config.read_text().replace("lease_seconds = 60", f"lease_seconds = {seconds}")
    )


@pytest.fixture
def child(
    workspace: InitResult, passphrase: bytes, request: pytest.FixtureRequest
) -> Iterator[subprocess.Popen[str]]:
    """A separate process that holds the lease on VERSION (and renews it); lease 1 s unless
    parametrized."""
    _set_lease_seconds(workspace.home, getattr(request, "param", 1))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path),
        "FORGEKEEP_PASSPHRASE": passphrase.decode(),
    }
    process = subprocess.Popen(
        [sys.executable, str(CHILD), str(workspace.home), VERSION],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("held "), line
    yield process
    if process.poll() is None:
        process.kill()
    process.wait(30)
    process.stdout.close()


def _row(vault: Vault) -> UploadLease | None:
    with context_of(vault).sessions() as session:
        return session.get(UploadLease, VERSION)


@pytest.mark.subprocess
def test_a_live_lease_is_renewed_and_never_taken_over(
    vault: Vault, child: subprocess.Popen[str], clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _row(vault)
    assert first is not None
    assert (first.pid, first.host) == (child.pid, _leases._host())
    time.sleep(1.5)  # longer than the 1-second lease: only renewal keeps it
    renewed = _row(vault)
    assert renewed is not None
    assert renewed.owner == first.owner
    assert renewed.expires_at > first.expires_at
    clock.advance(dt.timedelta(days=1))  # whatever the clock says, the owner runs here
    assert _leases.upload_in_progress(context_of(vault), VERSION)
    assert _leases.take_over(context_of(vault), VERSION) is None
    assert vault.assets.fsck(repair=True, grace=dt.timedelta(0)).repaired == []
    # Seen from another host (no pid to probe), renewal alone keeps the lease live.
    monkeypatch.setattr(_leases, "_host", lambda: "elsewhere")
    for _ in range(3):
        time.sleep(0.5)
        row = _row(vault)
        assert row is not None
        assert _leases.is_live(row, dt.datetime.now(dt.UTC))
    assert child.poll() is None


@pytest.mark.subprocess
@pytest.mark.parametrize("child", [5], indirect=True)
def test_a_dead_owners_lease_is_taken_over_only_after_it_expires(
    vault: Vault, child: subprocess.Popen[str], clock: ManualClock
) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait(30)  # reaped: no zombie answers the liveness probe
    held = _row(vault)
    assert held is not None
    clock.advance(max(dt.datetime.now(dt.UTC) - clock.now(), dt.timedelta(0)))  # as the child's
    assert held.expires_at > clock.now()
    assert _leases.take_over(context_of(vault), VERSION) is None  # dead, but not expired yet
    clock.advance(held.expires_at - clock.now() + dt.timedelta(milliseconds=1))
    owner = _leases.take_over(context_of(vault), VERSION)
    assert owner is not None
    taken = _row(vault)
    assert taken is not None
    assert (taken.owner, taken.pid) == (owner, os.getpid())
    _leases.release(context_of(vault), VERSION, owner)
    assert _row(vault) is None


def test_a_put_whose_lease_was_taken_over_does_not_commit(
    vault: Vault, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _leases.upload_lease(context_of(vault), VERSION) as lease:
        monkeypatch.setattr(_leases, "_host", lambda: "elsewhere")  # as if held on another host
        clock.advance(dt.timedelta(minutes=2))  # no renewal ran: the lease expired
        assert _leases.take_over(context_of(vault), VERSION) is not None
        with context_of(vault).sessions() as session, pytest.raises(LeaseLostError):
            lease.check(session)
        assert not _leases.renew(context_of(vault), VERSION, lease.owner)


class _SlowSource(io.RawIOBase):
    """A source that takes ``seconds`` to read, checking the put's lease as it goes."""

    def __init__(self, check: Callable[[], None], seconds: float, chunks: int = 12) -> None:
        self._check, self._pause, self._left = check, seconds / chunks, chunks

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._left == 0:
            return 0
        self._left -= 1
        time.sleep(self._pause)
        self._check()
        size = min(len(buffer), 4096)
        buffer[:size] = b"x" * size
        return size


def test_a_put_longer_than_its_lease_keeps_it_by_renewal(
    workspace: InitResult, passphrase: bytes
) -> None:
    _set_lease_seconds(workspace.home, 1)
    seen: list[dt.datetime] = []
    with open_vault(workspace.home, passphrase=passphrase) as vault:  # the real clock
        vault.projects.create("slow", residency="DE")

        def check() -> None:
            with context_of(vault).sessions() as session:
                (row,) = session.scalars(select(UploadLease)).all()
            now = dt.datetime.now(dt.UTC)
            assert row.expires_at > now, "the lease lapsed during the put"
            seen.append(row.expires_at)

        put = vault.assets.put(_SlowSource(check, 3.0), project="slow", name="slow.bin")
        assert put.version == 1
        with context_of(vault).sessions() as session:
            assert session.scalars(select(UploadLease)).all() == []  # released at the end
    assert len(set(seen)) >= 3  # renewed again and again over three 1-second lifetimes
