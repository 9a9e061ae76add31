"""Validation of user-supplied names, tags and references.

Security rule: a name is data, never a path. Names that could be read as a path
(``/``, ``\\``, ``.``, ``..``), that carry NUL or control characters, or that
exceed their byte limits are refused before anything else happens.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from forgekeep.errors import InvalidNameError, LimitExceededError, UsageError
from forgekeep.limits import MAX_NAME_BYTES, MAX_TAG_BYTES, MAX_TAGS

CLASSIFICATIONS = ("public", "internal", "confidential", "secret")
_PROJECT = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
_TAG_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,62}")
# Control, surrogate and format characters (bidi overrides, zero-width) are refused:
# they hide path tricks or make look-alike names.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Cf"})


def validate_name(name: str, what: str = "name") -> str:
    """An asset name: 1–255 bytes of UTF-8, not a path, no control characters."""
    encoded = name.encode("utf-8", errors="surrogateescape")
    if not name or len(encoded) > MAX_NAME_BYTES:
        raise InvalidNameError(f"{what} must be 1-{MAX_NAME_BYTES} bytes, got {len(encoded)}")
    if name in (".", "..") or "/" in name or "\\" in name:
        raise InvalidNameError(f"{what} {name!r} looks like a path")
    if any(unicodedata.category(ch) in _REFUSED_CATEGORIES for ch in name):
        raise InvalidNameError(
            f"{what} contains NUL, control, invisible formatting or undecodable characters"
        )
    return name


def validate_project_name(name: str) -> str:
    if not _PROJECT.fullmatch(name):
        raise InvalidNameError(
            f"project name {name!r} is invalid",
            hint="use lower-case letters, digits, '.', '_' and '-' (max 63)",
        )
    return name


_PURPOSE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


def validate_purpose(purpose: str) -> str:
    """A declared purpose (e.g. ``tooling``): lower-case letters, digits, '.', '_', '-'."""
    if not isinstance(purpose, str) or not _PURPOSE.fullmatch(purpose):
        raise UsageError(
            f"purpose {purpose[:40]!r} is invalid",
            hint="use lower-case letters, digits, '.', '_' and '-' (max 64), e.g. tooling",
        )
    return purpose


def validate_classification(value: str) -> str:
    if value not in CLASSIFICATIONS:
        raise UsageError(f"classification must be one of {', '.join(CLASSIFICATIONS)}")
    return value


def validate_tags(tags: Mapping[str, str]) -> dict[str, str]:
    if len(tags) > MAX_TAGS:
        raise LimitExceededError(f"at most {MAX_TAGS} tags per version")
    for key, value in tags.items():
        if not _TAG_KEY.fullmatch(key):
            raise InvalidNameError(f"tag key {key!r} is invalid")
        try:
            size = len(value.encode("utf-8"))
        except UnicodeEncodeError:
            raise InvalidNameError(f"tag {key!r} has a value that is not valid UTF-8") from None
        if size > MAX_TAG_BYTES or any(
            unicodedata.category(ch) in _REFUSED_CATEGORIES for ch in value
        ):
            raise InvalidNameError(f"tag {key!r} has a value that is too long or has controls")
    return dict(tags)


def parse_tag(text: str) -> tuple[str, str]:
    """``k=v`` from the command line."""
    key, sep, value = text.partition("=")
    if not sep:
        raise UsageError(f"tag {text!r} is not of the form key=value")
    return key, value


def split_reference(reference: str) -> tuple[str, int | None]:
    """``NAME_OR_ID[@VERSION]`` → (name or id, version or None)."""
    base, sep, version = reference.rpartition("@")
    if sep and version.isdigit() and base:
        number = int(version)
        if number < 1:
            raise UsageError("versions start at 1")
        return base, number
    return reference, None
