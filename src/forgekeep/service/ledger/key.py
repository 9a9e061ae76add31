"""The log's signing key: made once, on purpose, and never by a read.

Security rules:

* The key is created by ``forgekeep init`` and, for a workspace made before
  that, by :func:`ensure_log_key` — an explicit, idempotent, authorized
  (``ledger.setup``: admins acting from an operator jurisdiction) and journaled
  step that needs the unlocked keyring. ``forgekeep doctor --fix`` runs it; a
  later ``forgekeep migrate`` calls the same function.
* Nothing else creates it. Signing a checkpoint, printing the verifier key,
  proving an entry or verifying the log on a workspace without a key fails with
  :class:`LogKeyMissingError`, and creates no key, no domain key and no tile.
* The Ed25519 seed exists in clear only in memory while a checkpoint is signed;
  at rest it is wrapped by the key manager under a domain key of its own,
  bound to the tenant by a :class:`~forgekeep.crypto.context.LedgerSeedContext`
  (a type of its own, whose bytes are those the first seeds were wrapped with).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from forgekeep.crypto.context import LedgerSeedContext, ledger_seed_context
from forgekeep.crypto.signed import SignerKey, VerifierKey, encode_vkey, parse_vkey
from forgekeep.db.ledger import LedgerKey
from forgekeep.db.models import DomainKey, KeyRing
from forgekeep.errors import LogKeyMissingError, NotFoundError
from forgekeep.keys.protocol import DomainKeyRef, KeyManager
from forgekeep.ledger.journal import Outcome
from forgekeep.service.authz import Action
from forgekeep.service.context import ServiceContext
from forgekeep.service.core import commit_with_event, request


def origin_of(tenant_id: str) -> str:
    """The log's origin line and key name."""
    return f"forgekeep/{tenant_id}"


def _seed_context(tenant: str, ring: str, domain: str) -> LedgerSeedContext:
    return ledger_seed_context(tenant=tenant, key_ring=ring, domain=domain)


def _asset_ring(session: Session, tenant_id: str) -> str:
    ring = session.scalar(
        select(KeyRing.id)
        .where(KeyRing.tenant_id == tenant_id, KeyRing.purpose == "assets")
        .order_by(KeyRing.id)
    )
    if ring is None:
        raise NotFoundError("the tenant has no asset key ring for the log key")
    return ring


def create_log_key(session: Session, km: KeyManager, tenant_id: str, now: dt.datetime) -> str:
    """Create the log key in the caller's transaction; returns its vkey. The caller commits."""
    ring = _asset_ring(session, tenant_id)
    domain = f"dk-{secrets.token_hex(10)}"
    km.create_domain_key(DomainKeyRef(ring=ring, domain=domain))
    session.add(DomainKey(id=domain, ring_id=ring, scope="ledger", state="active", created_at=now))
    session.flush()  # the domain key row first: the log key refers to it
    signer = SignerKey(origin_of(tenant_id), secrets.token_bytes(32))
    wrapped = km.wrap(
        DomainKeyRef(ring, domain), signer.seed(), _seed_context(tenant_id, ring, domain)
    )
    vkey = encode_vkey(signer.verifier)
    session.add(
        LedgerKey(
            tenant_id=tenant_id,
            origin=origin_of(tenant_id),
            vkey=vkey,
            ring_id=ring,
            domain_key_id=domain,
            wrapped_seed=wrapped,
            created_at=now,
        )
    )
    return vkey


def _row(session: Session, tenant_id: str) -> LedgerKey:
    row = session.get(LedgerKey, tenant_id)
    if row is None:
        raise LogKeyMissingError("this workspace's log has no signing key yet")
    return row


def log_verifier(session: Session, tenant_id: str) -> VerifierKey:
    """The log's verifier key; :class:`LogKeyMissingError` when there is none."""
    return parse_vkey(_row(session, tenant_id).vkey)


def log_signer(session: Session, ctx: ServiceContext) -> SignerKey:
    """The log's signing key, unwrapped for this signature only (never created here)."""
    row = _row(session, ctx.tenant_id)
    context = _seed_context(ctx.tenant_id, row.ring_id, row.domain_key_id)
    seed = ctx.key_manager.unwrap(
        DomainKeyRef(row.ring_id, row.domain_key_id), row.wrapped_seed, context
    )
    return SignerKey(row.origin, seed)


@dataclass(frozen=True, slots=True)
class LogKeyInfo:
    vkey: str
    created: bool  # False: the key already existed and nothing changed


def ensure_log_key(ctx: ServiceContext) -> LogKeyInfo:
    """Create the log's signing key if the workspace has none (idempotent, journaled).

    The one step that brings a workspace made without a log key up to date;
    ``doctor --fix`` runs it and ``migrate`` may call it.
    """
    with request(ctx, Action.LEDGER_SETUP, "log-key") as req, ctx.sessions() as session:
        row = session.get(LedgerKey, ctx.tenant_id)
        if row is not None:
            info = LogKeyInfo(row.vkey, created=False)
        else:
            info = LogKeyInfo(
                create_log_key(session, ctx.key_manager, ctx.tenant_id, ctx.clock.now()), True
            )
        commit_with_event(session, ctx, req.event(Outcome.OK, created=info.created))
        return info
