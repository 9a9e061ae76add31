"""Blob key validation, shared by every backend and the shipped fakes.

Security rule: a key reaches a backend only after :func:`validate_blob_key`
accepted it. A key is ``/``-joined segments of ``[A-Za-z0-9._-]``; no segment
is empty, ``.`` or ``..``, longer than ``MAX_BLOB_KEY_SEGMENT_BYTES``, or starts
with the reserved temporary prefix; the whole key is at most
``MAX_BLOB_KEY_BYTES``. So no leading ``/``, no ``//``, no backslash, no NUL and
no non-ASCII byte ever becomes part of a path or an object name. Every check
bounds the input's length before it loops over it.
"""

from __future__ import annotations

import re
from typing import Final

from forgekeep._durable import TEMP_PREFIX
from forgekeep.errors import InvalidNameError
from forgekeep.storage.protocol import MAX_BLOB_KEY_BYTES, MAX_BLOB_KEY_SEGMENT_BYTES

_SEGMENT: Final = re.compile(r"[A-Za-z0-9._-]+")
_PARTIAL_SEGMENT: Final = re.compile(r"[A-Za-z0-9._-]*")
_KEY_HINT: Final = (
    "blob keys are '/'-joined segments of A-Z a-z 0-9 . _ - "
    f"(no empty, '.' or '..' segment), at most {MAX_BLOB_KEY_BYTES} bytes"
)
#: Room for the temporary decoration: prefix, 16 hex digits and a dash.
_TEMP_DECORATION_BYTES: Final = len(TEMP_PREFIX) + 17


def _invalid(message: str) -> InvalidNameError:
    return InvalidNameError(message, hint=_KEY_HINT)


def _segment_problem(segment: str) -> str | None:
    """Why ``segment`` cannot be part of a key, or ``None`` when it can."""
    if len(segment) > MAX_BLOB_KEY_SEGMENT_BYTES:
        return f"a key segment is longer than {MAX_BLOB_KEY_SEGMENT_BYTES} bytes"
    if not _SEGMENT.fullmatch(segment) or segment in (".", ".."):
        return f"invalid key segment {segment!r}"
    if segment.startswith(TEMP_PREFIX):
        return f"key segments may not start with the reserved prefix {TEMP_PREFIX!r}"
    return None


def is_blob_segment(name: str) -> bool:
    """True when ``name`` may be one segment of a blob key."""
    return _segment_problem(name) is None


def _check_text(value: object, what: str, limit: int) -> str:
    if not isinstance(value, str):
        raise _invalid(f"a blob {what} must be a string, not {type(value).__name__}")
    if len(value) > limit:  # valid keys are ASCII, so characters never exceed bytes
        raise _invalid(f"blob {what} is longer than {limit} bytes")
    return value


def _check_segments(segments: list[str]) -> None:
    for segment in segments:
        problem = _segment_problem(segment)
        if problem is not None:
            raise _invalid(problem)


def validate_blob_key(key: str) -> str:
    """Return ``key`` unchanged when it is a valid blob key; else InvalidNameError."""
    _check_segments(_check_text(key, "key", MAX_BLOB_KEY_BYTES).split("/"))
    return key


def validate_blob_prefix(prefix: str) -> str:
    """Return ``prefix`` when ``list`` may take it: whole segments, then a partial one.

    ``""`` lists everything; ``"a/b/"`` lists below ``a/b``; ``"a/b/c"`` also
    matches ``a/b/cd``. Everything before the last ``/`` must be a valid key.
    """
    directory, slash, partial = _check_text(prefix, "prefix", MAX_BLOB_KEY_BYTES).rpartition("/")
    if slash:
        _check_segments(directory.split("/"))
    if not _PARTIAL_SEGMENT.fullmatch(partial):
        raise _invalid(f"invalid characters in key prefix {partial!r}")
    return prefix


def validate_temporary_key(key: str) -> list[str]:
    """Split the key of a leftover temporary file into path segments.

    The directory part follows the key rules; the last segment must carry the
    reserved temporary prefix. Only such names can be removed as temporaries.
    """
    limit = MAX_BLOB_KEY_BYTES + _TEMP_DECORATION_BYTES
    segments = _check_text(key, "temporary key", limit).split("/")
    _check_segments(segments[:-1])
    name = segments[-1]
    if not name.startswith(TEMP_PREFIX) or not _SEGMENT.fullmatch(name):
        raise _invalid(f"{name!r} is not the name of a temporary file")
    return segments
