"""The Forgekeep witness daemon (c2sp.org/tlog-witness@v1.0.0) and the log's client for it.

A witness is a partner's process, not part of the vault: it holds its own
Ed25519 cosigning key, the vkeys of the logs it watches, and the latest
checkpoint it cosigned for each. It cosigns a new checkpoint only when a
consistency proof shows it extends that one, so a log cannot show two
different histories to two parties that both check the witness's cosignature.

Security rules: see :mod:`forgekeep.witness.state` (durable, locked state),
:mod:`forgekeep.witness.app` (the HTTP protocol) and
:mod:`forgekeep.witness.client` (what the log concludes from each answer).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from forgekeep.witness.app import AddCheckpoint, Reply, Witness, create_app, parse_request
    from forgekeep.witness.client import submit
    from forgekeep.witness.config import WitnessConfig
    from forgekeep.witness.state import (
        CONFIG_NAME,
        LogState,
        StateStore,
        WitnessDir,
        init_witness,
        load_config,
        load_key,
    )

# The names load on first use: the log's client (`witness.client`, httpx) must not pull
# in the daemon's web framework (`witness.app`, FastAPI) just by importing this package.
_HOMES = {
    "AddCheckpoint": "app",
    "Reply": "app",
    "Witness": "app",
    "create_app": "app",
    "parse_request": "app",
    "submit": "client",
    "CONFIG_NAME": "state",
    "LogState": "state",
    "StateStore": "state",
    "WitnessConfig": "config",
    "WitnessDir": "state",
    "init_witness": "state",
    "load_config": "state",
    "load_key": "state",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


__all__ = [
    "CONFIG_NAME",
    "AddCheckpoint",
    "LogState",
    "Reply",
    "StateStore",
    "Witness",
    "WitnessConfig",
    "WitnessDir",
    "create_app",
    "init_witness",
    "load_config",
    "load_key",
    "parse_request",
    "submit",
]
