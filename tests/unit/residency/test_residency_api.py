"""The public surface of forgekeep.residency."""

from __future__ import annotations

import types

from forgekeep import residency
from forgekeep.residency import jurisdiction, rules


def test_all_lists_exactly_the_public_names() -> None:
    public = {
        name
        for name, value in vars(residency).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert set(residency.__all__) == public
    assert all(hasattr(residency, name) for name in residency.__all__)


def test_every_module_states_the_fail_closed_rule() -> None:
    for module in (residency, jurisdiction, rules):
        assert module.__doc__ is not None
        assert "fail closed" in module.__doc__
