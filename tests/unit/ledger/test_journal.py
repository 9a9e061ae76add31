"""The SQL journal: scalar details only, and failures become JournalError."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from forgekeep.clock import ManualClock
from forgekeep.crypto.canonical import canonical_json
from forgekeep.errors import FormatError, JournalError
from forgekeep.ledger.journal import JournalEvent, Outcome, SqlJournal, encode_detail
from forgekeep.ledger.log import event_entry


def _event(**detail: object) -> JournalEvent:
    return JournalEvent("asset.put", Outcome.OK, "p-1", "proj/a", "req-1", detail)  # type: ignore[arg-type]


def test_detail_is_canonical_and_flat() -> None:
    assert encode_detail({"b": 1, "a": "é", "c": None, "d": True}) == (
        '{"a":"é","b":1,"c":null,"d":true}'
    )
    with pytest.raises(JournalError):
        encode_detail({"nested": {"no": 1}})  # type: ignore[dict-item]


def test_a_database_failure_is_a_journal_error() -> None:
    engine = create_engine("sqlite://")  # no tables: the insert fails
    with Session(engine) as session, pytest.raises(JournalError) as caught:
        SqlJournal("t-1", ManualClock()).append(session, _event(size=3))
    assert "asset.put" in caught.value.message


def test_entries_with_keys_json_cannot_order_take_the_general_encoder() -> None:
    fields = ("action", "actor", "at", "outcome", "request", "target", "tenant")
    strings = dict.fromkeys(fields, "x")
    with pytest.raises(FormatError):
        event_entry(strings, {1: "not a string key"})  # type: ignore[dict-item]
    entry, detail = event_entry(strings, {"\U0001f600": 1, "\ue000": 2})  # JCS sorts by UTF-16
    assert entry == canonical_json({**strings, "detail": {"\U0001f600": 1, "\ue000": 2}, "v": 1})
    assert detail == '{"\ue000":2,"\U0001f600":1}'
