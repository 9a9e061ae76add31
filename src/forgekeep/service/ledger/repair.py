"""``ledger repair``: mend a log broken at its tail (its newest ``events`` rows gone).

Security rules:

* Only a tail is repaired: entries whose rows are gone while their stored
  hashes remain. A gap inside the log is refused (restore a backup).
* ``--from-export DIR`` puts back exactly the bytes the log hashed: each entry
  from the export must hash to the leaf hash the tree still stores at its
  index, so an export cannot insert anything the log did not hold.
* ``--drop-uncovered`` removes the hashes of the missing entries, and only
  when no checkpoint covers them: not a stored one, not one named on the site,
  not a mirrored tile. An entry a signed checkpoint covers is never dropped.
  The dropped leaf hashes are kept in the repair's own entry, as evidence.
* The repair is decided like ``fsck --repair`` (``vault.repair``: a vetted
  operator). Its event is appended in the same transaction as the repair
  (the log takes entries again once it is mended), and a checkpoint over the
  mended log is signed in it too, which needs the log key and so the
  passphrase. A refusal cannot be journaled while the log is broken, so it
  fails closed with ``FK-JOURNAL-001`` naming the original error.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from forgekeep.db.ledger import Checkpoint as CheckpointRow
from forgekeep.db.ledger import LedgerHash
from forgekeep.db.models import Event
from forgekeep.errors import (
    ConflictError,
    LimitExceededError,
    NotFoundError,
    ProofError,
    UsageError,
)
from forgekeep.ledger import audit, log, merkle
from forgekeep.ledger.entry import parse_entry
from forgekeep.ledger.journal import Outcome
from forgekeep.limits import MAX_REPAIRED_ENTRIES
from forgekeep.service.authz import Action
from forgekeep.service.context import ServiceContext
from forgekeep.service.core import request
from forgekeep.service.ledger import mirror as ledger_mirror
from forgekeep.service.ledger.log import signed_checkpoint


@dataclass(frozen=True, slots=True)
class RepairInfo:
    first: int
    last: int
    restored: bool  # True: put back from an export; False: dropped
    size: int  # the log's size after the repair, its own entry included
    request_id: str


def _broken_tail(session: Session, tenant_id: str) -> range:
    state = log.tail_state(session, tenant_id)
    if state.entries != state.size:
        raise ProofError(
            "entries are missing inside the log, not only at its tail",
            hint="restore the metadata database from a backup (docs/operations.md)",
        )
    if not state.missing:
        raise UsageError(
            "the log is not broken at its tail: there is nothing to repair",
            hint="run `forgekeep ledger verify`",
        )
    if len(state.missing) > MAX_REPAIRED_ENTRIES:
        raise LimitExceededError(
            f"{len(state.missing)} entries are missing; a repair mends at most"
            f" {MAX_REPAIRED_ENTRIES}",
            hint="restore the metadata database from a backup (docs/operations.md)",
        )
    return state.missing


def _stored_leaves(session: Session, tenant_id: str, missing: range) -> list[bytes]:
    reader = log.SqlHashes(session, tenant_id)
    return reader.read_hashes([merkle.stored_hash_count(i) for i in missing])


def _restore(session: Session, ctx: ServiceContext, missing: range, directory: Path) -> None:
    leaves = dict(zip(missing, _stored_leaves(session, ctx.tenant_id, missing), strict=True))
    found = 0
    for index, data in enumerate(audit.export_entries(directory)):
        if index not in leaves:
            if index >= missing.stop:
                break
            continue
        if merkle.leaf_hash(data) != leaves[index]:
            raise ProofError(f"entry {index} of the export is not the entry the log hashed")
        entry = parse_entry(data)
        if entry.tenant != ctx.tenant_id:
            raise ProofError(f"entry {index} of the export belongs to another tenant")
        session.add(
            Event(
                tenant_id=entry.tenant,
                at=entry.at,
                request_id=entry.request_id,
                actor=entry.actor,
                action=entry.action,
                outcome=entry.outcome,
                target=entry.target,
                detail=entry.detail_json(),
                log_index=index,
                entry=data,
            )
        )
        found += 1
    if found != len(missing):
        raise NotFoundError(
            f"the export does not hold entries {missing.start} to {missing.stop - 1}",
            hint="use a newer export, or --drop-uncovered if no checkpoint covers them",
        )
    session.flush()


def _covered_size(session: Session, ctx: ServiceContext) -> int:
    stored = session.scalar(
        select(CheckpointRow.size)
        .where(CheckpointRow.tenant_id == ctx.tenant_id)
        .order_by(CheckpointRow.size.desc())
        .limit(1)
    )
    named, tiled_hashes = ledger_mirror.mirrored_coverage(ctx)
    return max(stored or 0, named, log.first_leaf_at(tiled_hashes))


def _drop(session: Session, ctx: ServiceContext, missing: range) -> str:
    covered = _covered_size(session, ctx)
    if covered > missing.start:
        raise ConflictError(
            f"entries {missing.start} to {covered - 1} are covered by a signed checkpoint"
            " or a mirrored tile: they are never dropped",
            hint="restore them with `forgekeep ledger repair --from-export DIR`",
        )
    leaves = _stored_leaves(session, ctx.tenant_id, missing)
    session.execute(
        delete(LedgerHash).where(
            LedgerHash.tenant_id == ctx.tenant_id,
            LedgerHash.idx >= merkle.stored_hash_count(missing.start),
        )
    )
    return ",".join(base64.b64encode(leaf).decode() for leaf in leaves)


def repair(
    ctx: ServiceContext, *, from_export: Path | None = None, drop_uncovered: bool = False
) -> RepairInfo:
    """Mend a broken tail: restore its entries from an export, or drop uncovered ones."""
    if (from_export is None) == (not drop_uncovered):
        raise UsageError("give either --from-export DIR or --drop-uncovered")
    with request(ctx, Action.LEDGER_REPAIR, "ledger") as req, ctx.sessions() as session:
        missing = _broken_tail(session, ctx.tenant_id)
        span = f"{missing.start}-{missing.stop - 1}"
        if from_export is not None:
            _restore(session, ctx, missing, from_export)
            event = req.event(Outcome.OK, restored=span)
        else:
            dropped = _drop(session, ctx, missing)
            event = req.event(Outcome.OK, dropped=span, dropped_leaves=dropped)
        ctx.journal.append(session, event)
        signed = signed_checkpoint(session, ctx)  # needs the log key: the passphrase
        session.commit()
        return RepairInfo(
            missing.start, missing.stop - 1, from_export is not None, signed.size, req.id
        )
