"""The log's SQL hash store: a missing stored hash is a ProofError, never a guess."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import delete

from forgekeep.db.engine import make_engine, make_sessionmaker, migrate
from forgekeep.db.ledger import LedgerHash
from forgekeep.db.models import Tenant
from forgekeep.errors import ProofError
from forgekeep.ledger import log, merkle


def test_missing_hashes_and_empty_writes(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'log.db'}")
    migrate(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        session.add(Tenant(id="t-1", name="t-1", created_at=dt.datetime.now(dt.UTC)))
        session.flush()
        appender = log.LogAppender.open(session, "t-1")
        appender.write()  # nothing appended: no statement
        for entry in (b"a", b"b", b"c"):
            appender.append(entry)
        appender.write()
    with sessions() as session:
        reader = log.SqlHashes(session, "t-1")
        assert reader.read_hashes([0, 0]) == [merkle.leaf_hash(b"a")] * 2
        session.execute(delete(LedgerHash).where(LedgerHash.idx == 1))
        with pytest.raises(ProofError, match="stored hash 1 of the log is missing"):
            reader.read_hashes([0, 1])
    engine.dispose()
