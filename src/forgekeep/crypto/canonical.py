"""RFC 8785 (JCS) canonical JSON, with a fast path for a proven-identical subset.

Security rule: signed documents and ledger entries are hashed and signed over
JCS bytes, so two encoders must never disagree. :func:`fast_canonical_json`
uses sorted ``json.dumps`` only when the value lies in a subset where its
output is byte-identical to RFC 8785, and otherwise falls back to ``rfc8785``:

* exact ``dict`` (``str`` keys), ``list``, ``str``, ``bool``, ``None`` and
  ``int`` within ±(2**53 - 1); no floats, tuples, subclasses or shared or
  cyclic containers;
* no lone surrogates in any string (JCS refuses them; UTF-8 cannot encode them);
* object keys only from the Basic Multilingual Plane: JCS sorts keys by UTF-16
  code units and Python by code points, which disagree when a key holds a
  character above U+FFFF and another a character in U+E000..U+FFFF.

String escaping needs no restriction: with ``ensure_ascii=False``, ``json``
escapes exactly ``"``, ``\\`` and U+0000..U+001F, using the same short forms
and lower-case ``\\u00xx`` as JCS, and leaves U+007F, U+2028/U+2029 and all
other characters literal, as JCS does. A property test checks the identity.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final, cast

import rfc8785

from forgekeep.errors import FormatError

_SAFE_INT: Final = 2**53 - 1
_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_NON_BMP_OR_SURROGATE: Final = re.compile("[\ud800-\udfff\U00010000-\U0010ffff]")
_HINT: Final = "canonical JSON takes dict/list/str/int (±2**53-1)/float/bool/None, UTF-8 text"


def canonical_json(obj: object) -> bytes:
    """RFC 8785 canonical JSON bytes of ``obj``."""
    try:
        return rfc8785.dumps(cast("Any", obj))
    except (ValueError, RecursionError):
        raise FormatError("value cannot be written as canonical JSON", hint=_HINT) from None


def fast_canonical_json(obj: object) -> bytes:
    """The same bytes as :func:`canonical_json`, faster for the common subset."""
    if not _in_fast_subset(obj):
        return canonical_json(obj)
    try:
        text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except RecursionError:
        raise FormatError("value is nested too deeply for canonical JSON", hint=_HINT) from None
    return text.encode()


def _scalar_ok(item: object) -> bool:
    if type(item) is str:
        return item.isascii() or _SURROGATE.search(item) is None
    if type(item) is int:
        return -_SAFE_INT <= item <= _SAFE_INT
    return item is None or type(item) is bool


def _key_ok(key: object) -> bool:
    if type(key) is not str:
        return False
    return key.isascii() or _NON_BMP_OR_SURROGATE.search(key) is None


def is_fast_scalar(item: object) -> bool:
    """A scalar whose ``json.dumps`` (``ensure_ascii=False``) equals its JCS form."""
    return _scalar_ok(item)


def is_fast_key(key: object) -> bool:
    """An object key that ``sort_keys`` orders exactly as JCS does among such keys."""
    return _key_ok(key)


def _in_fast_subset(obj: object) -> bool:
    """True when ``obj`` is a tree of values whose ``json.dumps`` output equals JCS."""
    pending: list[object] = [obj]
    seen: set[int] = set()
    while pending:
        item = pending.pop()
        if type(item) is not dict and type(item) is not list:
            if not _scalar_ok(item):
                return False
            continue
        if id(item) in seen:
            return False
        seen.add(id(item))
        if isinstance(item, dict):
            if not all(_key_ok(key) for key in item):
                return False
            pending.extend(item.values())
        else:
            pending.extend(cast("list[object]", item))
    return True


def strict_json_loads(data: bytes, what: str, *, hint: str) -> Any:
    """Parse untrusted UTF-8 JSON strictly: a repeated member name, NaN or Infinity,
    bad UTF-8 or nesting too deep for the parser is a :class:`FormatError` naming ``what``."""

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(pairs)
        if len(result) != len(pairs):
            raise FormatError(f"{what} repeats a member name", hint=hint)
        return result

    def no_constants(name: str) -> Any:
        raise FormatError(f"{what} holds {name}, which JSON does not allow", hint=hint)

    try:
        return json.loads(
            data.decode("utf-8"), object_pairs_hook=no_duplicates, parse_constant=no_constants
        )
    except (ValueError, RecursionError):
        raise FormatError(f"{what} is not valid UTF-8 JSON", hint=hint) from None
