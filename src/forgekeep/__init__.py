"""Forgekeep: a sovereign vault for manufacturing intellectual property.

The Python API mirrors the CLI::

    import forgekeep
    with forgekeep.Workspace("~/vault").open(passphrase=b"...", principal="p-...") as vault:
        vault.assets.put(Path("blade.step"), project="turbine")
        vault.assets.get("blade.step", Path("out.step"))

Security rule: there is no anonymous mode and no default passphrase; the
caller names the acting principal (a pseudonym from ``forgekeep status``) and
supplies the keyring passphrase, or ``None`` to use a running unlock agent.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Vault", "Workspace", "__version__", "open_workspace"]

#: Exported lazily, so that ``import forgekeep`` stays light.
_LAZY = {"Vault": "forgekeep.service.front", "Workspace": "forgekeep.service.front"}

if TYPE_CHECKING:
    from forgekeep.clock import Clock
    from forgekeep.service.front import Vault, Workspace


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib  # noqa: PLC0415 (keep `import forgekeep` light)

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'forgekeep' has no attribute {name!r}")


def open_workspace(
    path: str | Path,
    *,
    passphrase: bytes | None,
    principal: str,
    clock: Clock | None = None,
) -> Vault:
    """Open the embedded workspace at ``path`` as ``principal``.

    ``passphrase=None`` uses the user's unlock agent (``forgekeep unlock``) and
    fails with ``FK-KEY-003`` when none is running.
    """
    from forgekeep.service.front import Workspace  # noqa: PLC0415 (keep `import forgekeep` light)

    return Workspace(path).open(passphrase=passphrase, principal=principal, clock=clock)
