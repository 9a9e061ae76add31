"""Reference pages stay true to the code: error codes and input limits."""

from __future__ import annotations

import re
from pathlib import Path

from forgekeep import limits
from forgekeep.errors import all_error_classes
from forgekeep.storage import protocol

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_error_code_has_an_anchor() -> None:
    text = (DOCS / "errors.md").read_text()
    codes = [cls.code for cls in all_error_classes()]
    assert len(codes) == len(set(codes)), "error codes must be unique"
    for code in codes:
        assert f"## {code.lower()}" in text, code


def test_every_limit_is_documented_with_its_value() -> None:
    text = (DOCS / "limits.md").read_text()
    values = {n: getattr(limits, n) for n in dir(limits) if n.startswith("MAX_")}
    values |= {n: getattr(protocol, n) for n in dir(protocol) if n.startswith("MAX_")}
    for name, value in values.items():
        assert re.search(rf"`{name}` \| {value} \|", text), name
