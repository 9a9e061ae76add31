"""Driver-level bulk inserts store rows exactly as the ORM would."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy import Table, create_engine, select
from sqlalchemy.orm import Session

from forgekeep.db.bulk import BulkInsert
from forgekeep.db.engine import make_engine, make_sessionmaker, migrate
from forgekeep.db.models import Event, Tenant

AT = dt.datetime(2026, 12, 2, 13, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=1)))
COLUMNS = ("tenant_id", "at", "request_id", "actor", "action", "outcome", "target", "detail")


@pytest.fixture
def session(tmp_path: Path) -> Session:
    engine = make_engine(f"sqlite:///{tmp_path / 'bulk.db'}")
    migrate(engine)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as s:
        s.add(Tenant(id="t-1", name="t-1", created_at=AT))
    return sessions()


def _row(request: str) -> tuple[object, ...]:
    return ("t-1", AT, request, "p-1", "asset.get", "ok", "blade/a", "{}")


def test_rows_read_back_like_orm_rows(session: Session) -> None:
    session.add(Event(**dict(zip(COLUMNS, _row("req-orm"), strict=True))))
    session.flush()
    BulkInsert(cast("Table", Event.__table__), COLUMNS).execute(
        session, [_row("req-bulk-1"), _row("req-bulk-2")]
    )
    session.commit()
    rows = {e.request_id: e for e in session.scalars(select(Event))}
    assert set(rows) == {"req-orm", "req-bulk-1", "req-bulk-2"}
    for request in ("req-bulk-1", "req-bulk-2"):
        assert rows[request].at == rows["req-orm"].at == AT  # UTC, aware, same instant
        assert rows[request].at.tzinfo == dt.UTC
    raw = session.connection().exec_driver_sql("SELECT DISTINCT at FROM events").all()
    assert len(raw) == 1  # byte-identical storage, not merely equal instants


def test_columns_in_any_order_and_empty_batches(session: Session) -> None:
    reordered = ("detail", "target", "outcome", "action", "actor", "request_id", "at", "tenant_id")
    bulk = BulkInsert(cast("Table", Event.__table__), reordered)
    bulk.execute(session, [])  # nothing to do, no statement
    bulk.execute(session, [tuple(reversed(_row("req-r")))])
    session.commit()
    stored = session.scalars(select(Event)).one()
    assert (stored.request_id, stored.target, stored.at) == ("req-r", "blade/a", AT)


def test_a_row_of_the_wrong_width_is_refused(session: Session) -> None:
    bulk = BulkInsert(cast("Table", Event.__table__), COLUMNS)
    with pytest.raises(ValueError, match="7 values for 8 columns"):
        bulk.execute(session, [_row("req-x")[:7]])
    with pytest.raises(ValueError, match="naive"):
        bulk.execute(session, [("t-1", AT.replace(tzinfo=None), *_row("req-y")[2:])])


def test_named_parameter_drivers_get_mappings(tmp_path: Path) -> None:
    # psycopg binds by name; sqlite3 can too, which exercises the same branch here.
    engine = create_engine(f"sqlite:///{tmp_path / 'named.db'}", paramstyle="named")
    migrate(engine)
    with Session(engine) as session:
        session.add(Tenant(id="t-1", name="t-1", created_at=AT))
        session.flush()
        BulkInsert(cast("Table", Event.__table__), COLUMNS).execute(session, [_row("req-n")])
        session.commit()
        assert session.scalars(select(Event.request_id)).all() == ["req-n"]
