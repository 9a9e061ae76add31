"""kill -9 during group commit: every acknowledged append survives, and no group
is half-written (each entry has all its stored hashes, and the tree rebuilds)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from forgekeep.db.engine import make_engine, make_sessionmaker, migrate
from forgekeep.db.ledger import LedgerHash
from forgekeep.db.models import Event, Tenant
from forgekeep.ledger import audit, log, merkle

CHILD = Path(__file__).with_name("_sequencer_child.py")
TENANT = "t-kill"


@pytest.mark.subprocess
@pytest.mark.parametrize("acks_before_kill", [1, 40, 400])
def test_acknowledged_appends_survive_a_kill(tmp_path: Path, acks_before_kill: int) -> None:
    database = tmp_path / "kill.db"
    engine = make_engine(f"sqlite:///{database}")
    migrate(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        session.add(Tenant(id=TENANT, name=TENANT, created_at=dt.datetime.now(dt.UTC)))
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(database), TENANT],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert child.stdout is not None
    acknowledged: dict[str, int] = {}
    for line in child.stdout:
        index, request = line.split()
        acknowledged[request] = int(index)
        if len(acknowledged) >= acks_before_kill:
            break
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    with sessions() as session:
        size = log.log_size(session, TENANT)
        stored = dict(
            session.execute(
                select(Event.request_id, func.min(Event.log_index)).group_by(Event.request_id)
            ).all()
        )
        hash_rows = session.scalar(select(func.count()).select_from(LedgerHash))
        rebuilt = audit.rebuild(log.entries(session, TENANT, 0, size))
        root = log.root(session, TENANT, size)
    engine.dispose()
    for request, index in acknowledged.items():
        assert stored.get(request) == index  # durable, at the index it was told
    assert hash_rows == merkle.stored_hash_count(size)  # no group half-written
    assert merkle.tree_hash(size, rebuilt) == root
    assert size % 2 == 0  # every append's two events together, or neither
