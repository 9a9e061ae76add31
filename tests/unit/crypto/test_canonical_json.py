"""canonical_json (RFC 8785) and the fast path that must give identical bytes."""

from __future__ import annotations

import enum
from typing import Any

import pytest
import rfc8785

from forgekeep.crypto import canonical_json, fast_canonical_json
from forgekeep.crypto.canonical import _in_fast_subset
from forgekeep.errors import FormatError


class Colour(enum.IntEnum):
    RED = 1


SHARED: list[int] = [1]

CASES: list[Any] = [
    None,
    True,
    0,
    2**53 - 1,
    -(2**53 - 1),
    "plain",
    'Grüße, 東京, \U0001f600, \u2028\u2029, \x7f, \x00\x1f\b\f\n\r\t"\\/',
    [],
    {},
    {"b": [1, {"z": None, "a": False}], "a": "x", "é": 1, "\u00ff": 2},
    {"\U0001f600": 1, "\uff01": 2, "a": 3},
    {"\ue000": 1, "\U00010000": 2},
    1.5,
    [1.0, -0.0, 1e21, 5e-7],
    (1, 2),
    Colour.RED,
    {"k": SHARED, "j": SHARED},
]


@pytest.mark.parametrize("value", CASES)
def test_fast_equals_rfc8785(value: Any) -> None:
    expected = rfc8785.dumps(value)
    assert canonical_json(value) == expected
    assert fast_canonical_json(value) == expected


@pytest.mark.parametrize(
    ("value", "fast"),
    [
        ({"a": [1, "b", None, True]}, True),
        ("東京", True),
        ("\udc80", False),
        (2**53, False),
        (-(2**53), False),
        (1.0, False),
        ((1,), False),
        (Colour.RED, False),
        ({1: "x"}, False),
        ({"\U0001f600": 1}, False),
        ({"\ud800": 1}, False),
        ({"\uffff": 1}, True),
        ({"k": SHARED, "j": SHARED}, False),
    ],
)
def test_fast_subset_membership(value: Any, fast: bool) -> None:
    assert _in_fast_subset(value) is fast


def test_astral_keys_sort_by_utf16() -> None:
    value = {"\uff01": 1, "\U0001f600": 2}
    assert fast_canonical_json(value) == '{"\U0001f600":2,"\uff01":1}'.encode()


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), 2**53, "\udc80", {"\ud800": 1}, {1: 2}, {1, 2}, b"x"]
)
def test_refusals_are_format_errors(value: Any) -> None:
    with pytest.raises(FormatError):
        canonical_json(value)
    with pytest.raises(FormatError):
        fast_canonical_json(value)


def test_deep_nesting_is_refused() -> None:
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(FormatError):
        fast_canonical_json(deep)
    with pytest.raises(FormatError):
        canonical_json(deep)


def test_cycles_are_refused() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(FormatError):
        fast_canonical_json(loop)
