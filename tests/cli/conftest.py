"""Fixtures for the CLI tests: one cheap workspace template, in-process and subprocess runners.

Every test gets a clean environment (no stray ``FORGEKEEP_*``), the test
passphrase in ``FORGEKEEP_PASSPHRASE`` and a private ``XDG_RUNTIME_DIR`` so an
unlock agent never touches the user's own.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The harness is shared with tests/integration; make it importable from both.
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from fk_cli_harness import (  # fixtures, registered by importing them here
    _test_environment,
    base_template,
    fk,
    fk_sub,
    ws,
    xdg,
)

__all__ = ["_test_environment", "base_template", "fk", "fk_sub", "ws", "xdg"]
