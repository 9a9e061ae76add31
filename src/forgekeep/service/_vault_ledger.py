"""The :class:`~forgekeep.service.vault.Vault` methods of the transparency log:
checkpoints, proofs, verification, witnesses, erasure and group commit.

A thin facade like the rest of the Vault: every rule lives in the service
modules it calls (``ledger``, ``ledger_audit``, ``witnesses``, ``erasure``,
``holds``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from pathlib import Path

from forgekeep.ledger.audit import WitnessPolicy
from forgekeep.ledger.sequencer import CHECKPOINT_INTERVAL, MAX_DELAY, Sequencer
from forgekeep.ledger.verifier import VerifyReport
from forgekeep.service.access import approvals as approval_ops
from forgekeep.service.context import ServiceContext
from forgekeep.service.ledger import audit as ledger_audit_ops
from forgekeep.service.ledger import erasure as erasure_ops
from forgekeep.service.ledger import holds as hold_ops
from forgekeep.service.ledger import key as ledger_key_ops
from forgekeep.service.ledger import log as ledger_ops
from forgekeep.service.ledger import proofs as ledger_proof_ops
from forgekeep.service.ledger import repair as ledger_repair_ops
from forgekeep.service.ledger import verify as ledger_verify_ops
from forgekeep.service.ledger import witnesses as witness_ops


class LedgerFacade:
    """Mixed into :class:`Vault`."""

    _ctx: ServiceContext

    def group_commit(
        self, *, max_delay: float = MAX_DELAY, checkpoint_interval: float = CHECKPOINT_INTERVAL
    ) -> contextlib.AbstractContextManager[Sequencer]:
        """For long-running hosts: group commit and 1-second checkpoints while open."""
        return ledger_ops.group_commit(
            self._ctx, max_delay=max_delay, checkpoint_interval=checkpoint_interval
        )

    # -- the transparency log ---------------------------------------------------

    def ledger_checkpoint(self) -> ledger_ops.SignedCheckpoint:
        return ledger_ops.checkpoint(self._ctx)

    def ensure_log_key(self) -> ledger_key_ops.LogKeyInfo:
        """Create the log's signing key if this workspace has none (``doctor --fix``)."""
        return ledger_key_ops.ensure_log_key(self._ctx)

    def ledger_key(self) -> str:
        return ledger_ops.verifier_key(self._ctx)

    def ledger_entry(self, index: int) -> bytes:
        return ledger_ops.entry(self._ctx, index)

    def ledger_prove_inclusion(self, index: int, *, wait: float = 0.0) -> bytes:
        """The tlog-proof of entry ``index`` under the newest cosigned checkpoint covering it.

        :class:`NotYetCoveredError` when there is none yet; ``wait`` seconds
        collects cosignatures (or waits for them) first.
        """
        return ledger_proof_ops.prove_inclusion(self._ctx, index, wait=wait).proof

    def ledger_prove_consistency(self, old: int, new: int) -> list[bytes]:
        return ledger_ops.prove_consistency(self._ctx, old, new)

    def ledger_verify(
        self,
        *,
        trusted_checkpoint: bytes | None = None,
        witnesses: WitnessPolicy | None = None,
    ) -> VerifyReport:
        return ledger_verify_ops.verify(
            self._ctx, trusted_checkpoint=trusted_checkpoint, witnesses=witnesses
        )

    def ledger_repair(
        self, *, from_export: Path | None = None, drop_uncovered: bool = False
    ) -> ledger_repair_ops.RepairInfo:
        return ledger_repair_ops.repair(
            self._ctx, from_export=from_export, drop_uncovered=drop_uncovered
        )

    # -- erasure and legal holds ---------------------------------------------------

    def request_erasure(self, principal_id: str, *, reason: str) -> approval_ops.ApprovalInfo:
        return erasure_ops.request_erasure(self._ctx, principal_id, reason=reason)

    def erase(self, approval_id: str) -> erasure_ops.ErasureInfo:
        return erasure_ops.erase(self._ctx, approval_id)

    def set_legal_hold(
        self, principal_id: str, *, until: dt.datetime, reason: str
    ) -> hold_ops.LegalHoldInfo:
        return hold_ops.set_legal_hold(self._ctx, principal_id, until=until, reason=reason)

    def request_hold_release(self, principal_id: str, *, reason: str) -> approval_ops.ApprovalInfo:
        """Ask to lift a hold early; another person approves, then :meth:`release_legal_hold`."""
        return hold_ops.request_hold_release(self._ctx, principal_id, reason=reason)

    def release_legal_hold(self, approval_id: str) -> hold_ops.LegalHoldInfo:
        return hold_ops.release_legal_hold(self._ctx, approval_id)

    def ledger_ls(
        self,
        *,
        asset: str | None = None,
        principal: str | None = None,
        since: dt.datetime | None = None,
        limit: int = 100,
    ) -> list[ledger_audit_ops.LogEntryInfo]:
        return ledger_audit_ops.list_entries(
            self._ctx, asset=asset, principal=principal, since=since, limit=limit
        )

    def ledger_export(self, directory: Path) -> ledger_audit_ops.ExportInfo:
        return ledger_audit_ops.export(self._ctx, directory)

    def ledger_collect(self) -> tuple[ledger_ops.SignedCheckpoint, dict[str, str]]:
        return witness_ops.collect(self._ctx)

    def ledger_follow(
        self,
        on_checkpoint: Callable[[witness_ops.Collected], None],
        *,
        interval: float = 1.0,
        ticks: int | None = None,
    ) -> None:
        witness_ops.follow(self._ctx, on_checkpoint, interval=interval, ticks=ticks)

    def add_witness(
        self, name: str, *, url: str, vkey: str, cacert: Path
    ) -> witness_ops.WitnessInfo:
        return witness_ops.add_witness(self._ctx, name, url=url, vkey=vkey, cacert=cacert)

    def remove_witness(self, name: str) -> None:
        witness_ops.remove_witness(self._ctx, name)

    def witnesses(self) -> list[tuple[witness_ops.WitnessInfo, witness_ops.WitnessStatus]]:
        return witness_ops.witness_status(self._ctx)
