"""Reading entries back strictly, comparing every derived column, and the verifier's findings."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from forgekeep.errors import ProofError
from forgekeep.ledger.entry import CHECKED_COLUMNS, column_mismatches, needle, parse_entry
from forgekeep.ledger.log import event_entry
from forgekeep.ledger.verifier import LogVerifier
from forgekeep.limits import MAX_LISTED_FINDINGS

AT = dt.datetime(2026, 6, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)
FIELDS = {
    "tenant": "t-1", "at": AT.isoformat(), "request": "req-00000000000000aa", "actor": "p-1",
    "action": "asset.get", "outcome": "denied", "target": "a-1",
}  # fmt: skip
DETAIL = {"policy": "baseline/x", "reasons": "r1,r2", "size": 3, "break_glass": None}
ENTRY, DETAIL_JSON = event_entry(FIELDS, DETAIL)
ROW: dict[str, object] = {
    "tenant_id": "t-1", "at": AT, "request_id": "req-00000000000000aa", "actor": "p-1",
    "action": "asset.get", "outcome": "denied", "target": "a-1", "detail": DETAIL_JSON,
    "log_index": 7,
}  # fmt: skip


def test_an_entry_reads_back_as_journaled() -> None:
    entry = parse_entry(ENTRY)
    assert (entry.request_id, entry.actor, entry.outcome, entry.at) == (
        "req-00000000000000aa", "p-1", "denied", AT
    )  # fmt: skip
    assert entry.detail_json() == DETAIL_JSON
    assert column_mismatches(entry, 7, ROW) == []


@pytest.mark.parametrize("column", CHECKED_COLUMNS)
def test_every_derived_column_is_compared(column: str) -> None:
    forged = dict(ROW)
    forged[column] = AT + dt.timedelta(microseconds=1) if column == "at" else "x"
    if column == "log_index":
        forged[column] = 8
    assert column_mismatches(parse_entry(ENTRY), 7, forged) == [column]


@pytest.mark.parametrize(
    "mangle",
    [
        lambda d: d.pop("actor"),
        lambda d: d.update(extra="x"),
        lambda d: d.update(v=2),
        lambda d: d.update(outcome=1),
        lambda d: d.update(detail={"nested": {"a": 1}}),
        lambda d: d.update(at="2026-06-01T12:00:00"),  # no time zone
        lambda d: d.update(at="yesterday"),
    ],
)
def test_anything_but_a_version_1_entry_is_refused(mangle: object) -> None:
    fields = json.loads(ENTRY)
    mangle(fields)  # type: ignore[operator]
    with pytest.raises(ProofError):
        parse_entry(json.dumps(fields).encode())
    with pytest.raises(ProofError):
        parse_entry(b"\xff not json")


def test_a_needle_is_the_exact_bytes_of_a_field() -> None:
    assert needle("request", "req-00000000000000aa") in ENTRY
    assert needle("actor", "p-1") in ENTRY
    assert needle("actor", "p-2") not in ENTRY


def test_uncovered_entries_dated_in_the_future_are_a_finding() -> None:
    now = AT - dt.timedelta(hours=2)
    checker = LogVerifier(now=now, max_uncovered=dt.timedelta(minutes=15))
    checker.add(ENTRY, ROW | {"log_index": 0})
    report = checker.report(
        source="workspace", trusted_size=None, mirrored_size=None, cosigned_by=()
    )
    assert [(f.kind, f.index) for f in report.findings] == [("future-entry", 0)]
    assert report.uncovered is not None
    assert (report.uncovered.first, report.uncovered.oldest) == (0, AT)


def test_unreadable_entries_leave_the_uncovered_span_without_times() -> None:
    checker = LogVerifier(now=AT, max_uncovered=dt.timedelta(minutes=15))
    checker.add(b"\xff not an entry")  # counted and hashed, but has no time to show
    report = checker.report(
        source="workspace", trusted_size=None, mirrored_size=None, cosigned_by=()
    )
    assert report.uncovered is not None
    assert (report.uncovered.first, report.uncovered.last) == (0, 0)
    assert (report.uncovered.oldest, report.uncovered.newest) == (None, None)
    assert [f.kind for f in report.findings] == ["bad-entry"]


def test_findings_past_the_listing_limit_are_counted() -> None:
    checker = LogVerifier(now=AT, max_uncovered=dt.timedelta(minutes=15))
    for index in range(MAX_LISTED_FINDINGS + 3):
        checker.add(ENTRY, ROW | {"log_index": index, "actor": "p-forged"})
    report = checker.report(
        source="workspace", trusted_size=None, mirrored_size=None, cosigned_by=()
    )
    assert len(report.findings) == MAX_LISTED_FINDINGS
    assert report.omitted_findings == 3
