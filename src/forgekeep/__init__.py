"""Forgekeep: a sovereign vault for manufacturing intellectual property.

The Python API mirrors the CLI::

    import forgekeep
    with forgekeep.open_workspace("~/vault", passphrase=b"...", principal="p-...") as vault:
        vault.put(Path("blade.step"), project="turbine")
        vault.get("blade.step", Path("out.step"))

Security rule: there is no anonymous mode and no default passphrase; the
caller names the acting principal (a pseudonym from ``forgekeep status``) and
supplies the keyring passphrase, or ``None`` to use a running unlock agent.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

__version__ = "0.1.0"
__all__ = ["__version__", "open_workspace"]

if TYPE_CHECKING:
    from forgekeep.clock import Clock
    from forgekeep.service.vault import Vault


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
    from forgekeep.service.wiring import open_vault  # noqa: PLC0415 (keep `import forgekeep` light)

    return open_vault(
        Path(path).expanduser().resolve(), passphrase=passphrase, principal=principal, clock=clock
    )
