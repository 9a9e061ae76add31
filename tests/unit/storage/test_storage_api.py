"""The public surface of forgekeep.storage."""

from __future__ import annotations

import types

from forgekeep import storage


def test_all_lists_exactly_the_public_names() -> None:
    public = {
        name
        for name, value in vars(storage).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert set(storage.__all__) == public
