"""Wraps made before wrap contexts were typed still open, and the bytes did not move.

``wrap-contexts-v1.json`` holds a small keyring (cheap KDF) and three wraps
made with the untyped contexts of the previous release: a log signing seed
(then wrapped with the asset context and asset id ``ledger-key``), an asset
version's DEK, and a subject's attribute key with its sealed attributes.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from forgekeep.clock import ManualClock
from forgekeep.crypto.context import (
    asset_version_context,
    ledger_seed_context,
    subject_attributes_context,
)
from forgekeep.errors import UnwrapError
from forgekeep.identity.principals import open_attributes
from forgekeep.keys.local import LocalKeyManager
from forgekeep.keys.protocol import DomainKeyRef

VECTOR = json.loads((Path(__file__).parent / "wrap-contexts-v1.json").read_text(encoding="utf-8"))


@pytest.fixture
def km(tmp_path: Path) -> LocalKeyManager:
    path = tmp_path / "keyring.fk"
    path.write_bytes(base64.b64decode(VECTOR["keyring"]))
    clock = ManualClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    return LocalKeyManager.open(path, VECTOR["passphrase"].encode(), clock=clock)


def _ref(part: dict[str, Any]) -> DomainKeyRef:
    return DomainKeyRef(part["ring"], part["domain"])


def test_an_old_ledger_seed_opens_under_the_seed_context(km: LocalKeyManager) -> None:
    part = VECTOR["ledger_seed"]
    context = ledger_seed_context(
        tenant=VECTOR["tenant"], key_ring=part["ring"], domain=part["domain"]
    )
    assert context.encoded.hex() == part["context"]
    seed = km.unwrap(_ref(part), bytes.fromhex(part["wrapped"]), context)
    assert seed.hex() == part["seed"]


def test_an_old_dek_opens_under_the_asset_version_context(km: LocalKeyManager) -> None:
    part = VECTOR["asset_version"]
    context = asset_version_context(
        tenant=VECTOR["tenant"],
        key_ring=part["ring"],
        domain=part["domain"],
        asset_id=part["asset_id"],
        version_id=bytes.fromhex(part["version_id"]),
        suite=part["suite"],
    )
    assert context.encoded.hex() == part["context"]
    assert km.unwrap(_ref(part), bytes.fromhex(part["wrapped"]), context).hex() == part["dek"]
    # The same key under a context of another purpose does not open.
    wrong = ledger_seed_context(
        tenant=VECTOR["tenant"], key_ring=part["ring"], domain=part["domain"]
    )
    with pytest.raises(UnwrapError):
        km.unwrap(_ref(part), bytes.fromhex(part["wrapped"]), wrong)


def test_old_subject_attributes_open(km: LocalKeyManager) -> None:
    part = VECTOR["subject_attributes"]
    context = subject_attributes_context(tenant=VECTOR["tenant"], pseudonym=part["pseudonym"])
    assert context.encoded.hex() == part["context"]
    opened = open_attributes(
        km,
        part["ring"],
        VECTOR["tenant"],
        part["pseudonym"],
        bytes.fromhex(part["wrapped_key"]),
        bytes.fromhex(part["sealed"]),
    )
    assert opened == part["attributes"]
