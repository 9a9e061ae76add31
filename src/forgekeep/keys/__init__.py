"""Key managers: the KeyManager protocol, and the registry that opens one by URI.

The concrete backends (``forgekeep.keys.local`` …) are not imported here: only
``forgekeep.service.wiring`` picks a backend, through :func:`open_key_manager`.
"""

from forgekeep.keys.protocol import (
    DestructionRecord,
    DomainKeyRef,
    KeyInfo,
    KeyManager,
    KeyState,
)
from forgekeep.keys.registry import (
    KeyManagerFactory,
    known_schemes,
    open_key_manager,
    register_key_manager,
)

__all__ = [
    "DestructionRecord",
    "DomainKeyRef",
    "KeyInfo",
    "KeyManager",
    "KeyManagerFactory",
    "KeyState",
    "known_schemes",
    "open_key_manager",
    "register_key_manager",
]
