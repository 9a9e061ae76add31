"""A test security office: signs vetting records that test workspaces trust.

Workspaces refuse unvetted people (baseline policy ``guard/vetting-current``),
so test and demo workspaces list this issuer in ``[vetting] trusted_issuers``
and import a record for each person they act as. Never trust this key in a
real workspace: its private half is generated per process and unprotected.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from forgekeep.clock import Clock
from forgekeep.crypto.signed import SignerKey, encode_vkey, generate_signer
from forgekeep.identity.vetting import issue_vetting_record

if TYPE_CHECKING:
    from forgekeep.service.vault import Vault


class TestIssuer:
    """A vetting issuer with a fresh Ed25519 key."""

    __test__ = False  # not a pytest test class

    def __init__(self, name: str = "security-office.test") -> None:
        self.signer: SignerKey = generate_signer(name)

    @property
    def vkey(self) -> str:
        return encode_vkey(self.signer.verifier)

    def record(
        self,
        subject: str,
        *,
        now: dt.datetime,
        clearance: int = 3,
        days: float = 365,
        record_id: str | None = None,
    ) -> bytes:
        return issue_vetting_record(
            self.signer,
            subject=subject,
            clearance=clearance,
            expires=now + dt.timedelta(days=days),
            evidence="test-case",
            record_id=record_id,
        )

    def vet(self, vault: Vault, subject: str, clock: Clock, *, clearance: int = 3) -> None:
        """Import a year-long vetting record for ``subject`` through ``vault``."""
        vault.vetting.import_record(self.record(subject, now=clock.now(), clearance=clearance))


#: One issuer per test process, trusted by every workspace the shared fixtures make.
ISSUER = TestIssuer()
