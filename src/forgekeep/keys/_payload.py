"""The sealed payload of a ``local:`` keyring: rings, KEK versions, domain keys.

The payload is JSON inside the sealed file (``_keyring_file``)::

    {"version": 1, "rings": {"<ring>": {
        "keks": {"<n>": {"key": b64, "created_at": iso}},
        "domains": {"<domain>": {"state": "active|disabled|destroyed",
                                 "created_at": iso, "kek_version": n,
                                 "sealed_key": b64 | null, "destroyed_at": iso | null}}}}}

Security rules: KEKs sit here in the clear, so this model never leaves
``LocalKeyManager``; key fields are kept out of ``repr``. A destroyed domain
keeps only a tombstone (state, times, KEK version): its sealed key is gone
from the next file written. The payload is authenticated before it is parsed;
a payload that still does not parse is :class:`FormatError`.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, Final

from forgekeep.errors import FormatError
from forgekeep.keys.protocol import KeyState

PAYLOAD_VERSION: Final = 1


@dataclass(slots=True)
class Kek:
    key: bytes = field(repr=False)
    created_at: dt.datetime


@dataclass(slots=True)
class DomainEntry:
    state: KeyState
    created_at: dt.datetime
    kek_version: int
    sealed_key: bytes | None = field(repr=False)
    destroyed_at: dt.datetime | None = None


@dataclass(slots=True)
class Ring:
    keks: dict[int, Kek]
    domains: dict[str, DomainEntry] = field(default_factory=dict)

    @property
    def current(self) -> int:
        """The current KEK version is always the newest one."""
        return max(self.keks)


@dataclass(slots=True)
class Keyring:
    rings: dict[str, Ring] = field(default_factory=dict)


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def _time(text: Any) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("naive timestamp")
    return value


def _dump_domain(entry: DomainEntry) -> dict[str, Any]:
    return {
        "state": entry.state.value,
        "created_at": entry.created_at.isoformat(),
        "kek_version": entry.kek_version,
        "sealed_key": _b64(entry.sealed_key),
        "destroyed_at": None if entry.destroyed_at is None else entry.destroyed_at.isoformat(),
    }


def _dump_ring(ring: Ring) -> dict[str, Any]:
    keks = {
        str(version): {"key": _b64(kek.key), "created_at": kek.created_at.isoformat()}
        for version, kek in ring.keks.items()
    }
    domains = {name: _dump_domain(entry) for name, entry in ring.domains.items()}
    return {"keks": keks, "domains": domains}


def dump(keyring: Keyring) -> bytes:
    """Serialise the payload (sorted, compact JSON)."""
    rings = {name: _dump_ring(ring) for name, ring in keyring.rings.items()}
    document = {"version": PAYLOAD_VERSION, "rings": rings}
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode("ascii")


def _load_domain(obj: dict[str, Any]) -> DomainEntry:
    sealed = obj["sealed_key"]
    destroyed = obj["destroyed_at"]
    return DomainEntry(
        state=KeyState(obj["state"]),
        created_at=_time(obj["created_at"]),
        kek_version=int(obj["kek_version"]),
        sealed_key=None if sealed is None else base64.b64decode(sealed, validate=True),
        destroyed_at=None if destroyed is None else _time(destroyed),
    )


def _load_ring(obj: dict[str, Any]) -> Ring:
    keks = {
        int(version): Kek(base64.b64decode(kek["key"], validate=True), _time(kek["created_at"]))
        for version, kek in obj["keks"].items()
    }
    if not keks:
        raise ValueError("a ring without a KEK")
    domains = {str(name): _load_domain(entry) for name, entry in obj["domains"].items()}
    return Ring(keks=keks, domains=domains)


def _load_rings(document: Any) -> dict[str, Ring]:
    if document["version"] != PAYLOAD_VERSION:
        raise ValueError("unknown payload version")
    return {str(name): _load_ring(ring) for name, ring in document["rings"].items()}


def load(raw: bytes) -> Keyring:
    """Parse an (authenticated) payload; anything unexpected is FormatError."""
    try:
        rings = _load_rings(json.loads(raw))
    except (KeyError, TypeError, ValueError, AttributeError):
        raise FormatError(
            "the keyring payload is malformed",
            hint="restore the keyring file from a backup; run `forgekeep doctor`",
        ) from None
    return Keyring(rings=rings)
