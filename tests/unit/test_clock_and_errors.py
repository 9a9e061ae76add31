"""The injectable clock and the error root."""

from __future__ import annotations

import datetime as dt

import pytest

from forgekeep.clock import ManualClock, SystemClock, monotonic
from forgekeep.errors import (
    EXIT_DENIED,
    AccessDeniedError,
    ForgekeepError,
    IntegrityError,
    all_error_classes,
)


def test_manual_clock_moves_only_forward() -> None:
    clock = ManualClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    clock.advance(dt.timedelta(days=400))
    assert clock.now() == dt.datetime(2027, 2, 5, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(dt.timedelta(seconds=-1))
    with pytest.raises(ValueError, match="aware"):
        ManualClock(dt.datetime(2026, 1, 1))  # noqa: DTZ001 (the point of the test)


def test_system_clock_is_aware_utc() -> None:
    assert SystemClock().now().tzinfo is dt.UTC
    assert monotonic() <= monotonic()


def test_diagnostics_name_code_request_and_hint() -> None:
    error = IntegrityError("chunk 3 failed", request_id="req-1")
    assert error.diagnostics().splitlines() == [
        "error[FK-INTEGRITY-001]: chunk 3 failed (request req-1)",
        f"hint: {IntegrityError.default_hint}",
    ]
    assert error.docs_anchor == "docs/errors.md#fk-integrity-001"
    assert ForgekeepError("x", hint="").diagnostics() == "error[FK-GEN-000]: x"
    assert AccessDeniedError("no").exit_code == EXIT_DENIED


def test_every_error_class_is_in_the_tree_once() -> None:
    classes = all_error_classes()
    assert classes[0] is ForgekeepError
    assert len({c.code for c in classes}) == len(classes)
