"""Global options may come before or after the command."""

from __future__ import annotations

import pytest

from forgekeep.cli.main import hoist_global_options


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["ls", "-q"], ["-q", "ls"]),
        (["ls", "-w", "/ws", "--json"], ["-w", "/ws", "ls", "--json"]),
        (["put", "f", "--workspace=/ws", "-y"], ["--workspace=/ws", "-y", "put", "f"]),
        (["put", "--", "-q"], ["put", "--", "-q"]),
        (["-q", "ls"], ["-q", "ls"]),
    ],
)
def test_hoist_global_options(argv: list[str], expected: list[str]) -> None:
    assert hoist_global_options(argv) == expected
