"""The log's entry encoder is byte-identical to RFC 8785 (the ``rfc8785`` package).

Journal events are assembled around their detail's JSON on a fast path; this
proves, over random events (any Unicode, lone surrogates, huge integers,
awkward keys), that the bytes equal ``rfc8785.dumps`` of the entry, or that
both refuse it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from forgekeep.errors import FormatError
from forgekeep.ledger.log import ENTRY_VERSION, event_entry

ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**60), max_value=2**60),
    ANY_TEXT,
)
NAMES = ("action", "actor", "at", "outcome", "request", "target", "tenant")


@settings(max_examples=600, deadline=None)
@given(
    strings=st.fixed_dictionaries(dict.fromkeys(NAMES, ANY_TEXT)),
    detail=st.dictionaries(ANY_TEXT, SCALARS, max_size=6),
)
def test_entries_equal_rfc8785_or_both_refuse(
    strings: dict[str, str], detail: dict[str, Any]
) -> None:
    reference: bytes | None
    try:
        reference = rfc8785.dumps({**strings, "detail": detail, "v": ENTRY_VERSION})
    except (ValueError, rfc8785.CanonicalizationError):
        reference = None
    if reference is None:
        with pytest.raises(FormatError):
            event_entry(strings, detail)
        return
    entry, detail_json = event_entry(strings, detail)
    assert entry == reference
    assert json.loads(detail_json) == detail
