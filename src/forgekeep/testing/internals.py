"""The service context behind a :class:`Vault`, for tests only.

The public API offers no ``.context``: callers go through the vault's groups.
Tests that check rows, keys or files directly take the context from here.
"""

from __future__ import annotations

from forgekeep.service.context import ServiceContext
from forgekeep.service.vault import Vault


def context_of(vault: Vault) -> ServiceContext:
    """The service context ``vault`` acts through."""
    return vault._ctx
