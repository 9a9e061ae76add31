"""Several processes on one PostgreSQL: one gap-free log per tenant, no lost versions.

The sequencer takes the tenant's advisory lock for each group, so two processes
appending at once (one of them killed with SIGKILL mid-group) still leave one
consistent log in which every acknowledged entry sits at the index it was told.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from forgekeep.clock import ManualClock
from forgekeep.db.engine import make_engine, make_sessionmaker, migrate
from forgekeep.db.ledger import LedgerHash
from forgekeep.db.models import Event, Tenant
from forgekeep.ledger import audit, log, merkle
from forgekeep.service.wiring import open_vault
from forgekeep.service.workspace.create import InitResult

CHILD = Path(__file__).with_name("_sequencer_child.py")
TENANT = "t-two"
APPENDS = 5000


def _child(url: str, name: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), url, TENANT, "1", str(APPENDS), name],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )


def _acknowledged(child: subprocess.Popen[str], stop_after: int | None) -> dict[str, int]:
    assert child.stdout is not None
    seen: dict[str, int] = {}
    for line in child.stdout:
        index, request = line.split()
        seen[request] = int(index)
        if stop_after is not None and len(seen) >= stop_after:
            break
    return seen


@pytest.mark.postgres
@pytest.mark.subprocess
@pytest.mark.slow
def test_two_processes_one_killed_leave_one_gap_free_log(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    migrate(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        session.add(Tenant(id=TENANT, name=TENANT, created_at=dt.datetime.now(dt.UTC)))
    victim, survivor = _child(postgres_url, "victim"), _child(postgres_url, "survivor")
    acknowledged = _acknowledged(victim, stop_after=APPENDS // 3)
    victim.send_signal(signal.SIGKILL)
    victim.wait(30)
    assert victim.returncode == -signal.SIGKILL
    acknowledged |= _acknowledged(survivor, stop_after=None)
    assert survivor.wait(120) == 0
    for child in (victim, survivor):
        assert child.stdout is not None
        child.stdout.close()

    with sessions() as session:
        size = log.log_size(session, TENANT)
        stored = dict(session.execute(select(Event.request_id, Event.log_index)).all())
        hash_rows = session.scalar(select(func.count()).select_from(LedgerHash))
        rebuilt = audit.rebuild(log.entries(session, TENANT, 0, size))  # raises on any gap
        root = log.root(session, TENANT, size)
    engine.dispose()
    assert sum(1 for r in acknowledged if r.startswith("req-survivor-")) == APPENDS
    assert len(stored) == size  # one row per index: no duplicates
    for request, index in acknowledged.items():
        assert stored.get(request) == index  # durable, at the index it was told
    assert hash_rows == merkle.stored_hash_count(size)  # no group half-written
    assert merkle.tree_hash(size, rebuilt) == root


WRITERS = 8


@pytest.mark.parametrize("existing", [False, True], ids=["new-name", "existing-asset"])
def test_eight_concurrent_puts_to_one_name_make_eight_versions(
    workspace: InitResult, clock: ManualClock, passphrase: bytes, tmp_path: Path, existing: bool
) -> None:
    """On SQLite and PostgreSQL: no put fails, and the versions are numbered 1..n."""
    with open_vault(workspace.home, passphrase=passphrase, clock=clock) as vault:
        vault.projects.create("blade", residency="DE")
        if existing:
            seed = tmp_path / "seed.step"
            seed.write_bytes(b"version one")
            vault.assets.put(seed, project="blade", name="part.step")
    sources = []
    for n in range(WRITERS):
        source = tmp_path / f"writer-{n}.step"
        source.write_bytes(f"writer {n} ".encode() * 1000)
        sources.append(source)
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def writer(source: Path) -> None:
        try:
            with open_vault(workspace.home, passphrase=passphrase, clock=clock) as own:
                start.wait(30)
                own.assets.put(source, project="blade", name="part.step")
        except BaseException as exc:  # noqa: BLE001 (reported by the assertion below)
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(s,)) for s in sources]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    with open_vault(workspace.home, passphrase=passphrase, clock=clock) as vault:
        versions = vault.assets.versions("part.step")
        expected = WRITERS + int(existing)
        assert sorted(v.number for v in versions) == list(range(1, expected + 1))
        contents = set()
        for version in versions:
            sink = io.BytesIO()
            vault.assets.get(f"part.step@{version.number}", sink)
            contents.add(sink.getvalue())
        assert {s.read_bytes() for s in sources} <= contents
        assert vault.ledger.verify().size > 0
