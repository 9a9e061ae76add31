"""Putting assets in: one version per put, encrypted before it leaves the process.

Security rules:

* Each version gets a fresh random 128-bit version id and is sealed by the
  barrier (:mod:`forgekeep.service.barrier`): a fresh random DEK, wrapped by
  the domain key under the version's typed wrap context; only the wrap is
  stored. The site is chosen by the request core's ``place`` step.
* The blob is durable in its site before the database commits; the version,
  its wrapped key, its replica and its journal event commit in one transaction.
  Until then the version is invisible, and a crash leaves only an upload
  record that ``fsck --repair`` can clean once the upload's lease
  (:mod:`forgekeep.service.assets.leases`) has expired. The version commits only
  while the put still holds that lease, checked in the same transaction.
* The database keeps the ciphertext SHA-256 and HMAC-SHA-256(K_mac, plaintext),
  never a bare plaintext hash.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forgekeep.db.locks import version_lock
from forgekeep.db.models import Asset, AssetVersion, DataKey, Project, Replica, Upload
from forgekeep.db.repos.catalog import find_project
from forgekeep.errors import ConflictError, InputMissingError, LimitExceededError, UsageError
from forgekeep.ledger.journal import Outcome
from forgekeep.limits import MAX_ASSET_BYTES
from forgekeep.service.assets.leases import upload_lease
from forgekeep.service.assets.names import validate_classification, validate_name, validate_tags
from forgekeep.service.assets.projects import new_domain_key
from forgekeep.service.authz import CLASSIFICATION_LEVELS, Action
from forgekeep.service.barrier import (
    Progress,
    SealedVersion,
    VersionAddress,
    new_version_id,
    seal_version,
)
from forgekeep.service.context import AssetTarget, ServiceContext, SiteHandle
from forgekeep.service.core import Request, commit_with_event, place, request


@dataclass(frozen=True, slots=True)
class PutResult:
    asset_id: str
    name: str
    project: str
    version: int
    version_id: str
    size: int
    request_id: str


@dataclass(frozen=True, slots=True)
class _Plan:
    project: Project
    asset_id: str
    existing: Asset | None
    domain_key_id: str
    version_id: bytes
    site: SiteHandle

    @property
    def blob_key(self) -> str:
        return blob_key_for(self.asset_id, self.version_id.hex())


def blob_key_for(asset_id: str, version_hex: str) -> str:
    return f"v1/{asset_id}/{version_hex}"


def _open_source(source: Path | BinaryIO) -> contextlib.AbstractContextManager[BinaryIO]:
    if not isinstance(source, Path):
        return contextlib.nullcontext(source)
    try:
        if source.is_dir():
            raise UsageError(f"{source} is a directory; put takes one file")
        size = source.stat().st_size
        if size > MAX_ASSET_BYTES:
            raise LimitExceededError(f"{source} is {size} bytes; the limit is {MAX_ASSET_BYTES}")
        return source.open("rb")
    except (FileNotFoundError, PermissionError) as exc:
        raise InputMissingError(f"cannot read {source}: {exc.strerror}") from exc


def _levels(session: Session, asset: Asset) -> tuple[str, str]:
    """(latest, highest) classification of an asset's versions."""
    rows = session.scalars(
        select(AssetVersion.classification)
        .where(AssetVersion.asset_id == asset.id)
        .order_by(AssetVersion.number)
    ).all()
    if not rows:
        return "internal", "internal"
    return rows[-1], max(rows, key=lambda c: CLASSIFICATION_LEVELS.get(c, 3))


def _plan(
    session: Session,
    ctx: ServiceContext,
    req: Request,
    project: str,
    name: str,
    classification: str | None,
) -> tuple[_Plan, str]:
    """The write plan and the new version's classification (default: the latest one's).

    Decided before any key or blob is made: a new version needs "modify" on the
    asset at the higher of its highest and the new classification, so a writer
    cleared for "internal" cannot add to a "secret" asset; a new asset needs
    "create" on its project.
    """
    proj = find_project(session, ctx.tenant_id, project)
    existing = session.scalar(select(Asset).where(Asset.project_id == proj.id, Asset.name == name))
    if existing is not None:
        latest, highest = _levels(session, existing)
        level = classification or latest
        decided = max(level, highest, key=lambda c: CLASSIFICATION_LEVELS.get(c, 3))
        req.authorize_asset(session, AssetTarget(existing, proj, decided))
        asset_id, domain = existing.id, existing.domain_key_id
    else:
        level = classification or "internal"
        req.authorize_project(session, proj, cedar_action="create")
        asset_id = f"a-{secrets.token_hex(12)}"
        domain = proj.domain_key_id
        if proj.shred_domain == "asset":
            domain = new_domain_key(session, ctx, proj.key_ring_id, "asset")
            session.commit()
    plan = _Plan(proj, asset_id, existing, domain, new_version_id(), place(ctx, proj))
    return plan, level


def _register_upload(session: Session, ctx: ServiceContext, plan: _Plan, actor: str) -> None:
    session.add(
        Upload(
            version_id=plan.version_id.hex(),
            tenant_id=ctx.tenant_id,
            asset_id=plan.asset_id,
            blob_key=plan.blob_key,
            site_name=plan.site.name,
            state="pending",
            started_by=actor,
            started_at=ctx.clock.now(),
        )
    )
    session.commit()


def _encrypt_and_store(
    ctx: ServiceContext, plan: _Plan, src: BinaryIO, progress: Progress
) -> SealedVersion:
    address = VersionAddress(
        ctx.tenant_id, plan.project.key_ring_id, plan.domain_key_id, plan.asset_id, plan.version_id
    )
    store = plan.site.store
    return seal_version(
        ctx.key_manager, address, src, lambda c: store.put(plan.blob_key, c), progress
    )


@dataclass(frozen=True, slots=True)
class _Stored:
    """What the upload produced (digests, the wrapped DEK) and the version's labels."""

    sealed: SealedVersion
    classification: str
    tags: dict[str, str]


def _ensure_asset(
    session: Session, ctx: ServiceContext, req: Request, plan: _Plan, name: str
) -> None:
    """The asset row, created on its first version; a rival creation is a conflict."""
    asset = session.get(Asset, plan.asset_id)
    if asset is None:
        rival = session.scalar(
            select(Asset.id).where(Asset.project_id == plan.project.id, Asset.name == name)
        )
        if plan.existing is not None or rival is not None:
            raise _RivalCreationError(
                f"asset {name!r} was created or changed during the upload; retry"
            )
        asset = Asset(
            id=plan.asset_id,
            tenant_id=ctx.tenant_id,
            project_id=plan.project.id,
            name=name,
            domain_key_id=plan.domain_key_id,
            created_by=req.actor_id,
            created_at=ctx.clock.now(),
            deleted_at=None,
            deleted_by=None,
        )
        session.add(asset)
    asset.deleted_at, asset.deleted_by = None, None


class _RivalCreationError(Exception):
    """Another writer created the asset first; this upload is bound to another id."""


def _next_number(session: Session, asset_id: str) -> int:
    latest = session.scalar(
        select(func.max(AssetVersion.number)).where(AssetVersion.asset_id == asset_id)
    )
    return 1 + (latest or 0)


def _commit_version(
    session: Session, ctx: ServiceContext, req: Request, plan: _Plan, name: str, stored: _Stored
) -> int:
    """Version, wrapped DEK, replica and journal event: one transaction, or nothing."""
    now, vhex, digest = ctx.clock.now(), plan.version_id.hex(), stored.sealed
    version_lock(session, plan.project.id, name)  # held to commit: numbers never collide
    _ensure_asset(session, ctx, req, plan, name)
    number = _next_number(session, plan.asset_id)
    session.add(
        AssetVersion(
            id=vhex,
            asset_id=plan.asset_id,
            number=number,
            classification=stored.classification,
            tags=stored.tags,
            size=digest.size,
            suite=digest.suite,
            ciphertext_size=digest.ciphertext_size,
            ciphertext_sha256=digest.ciphertext_sha256,
            plaintext_hmac=digest.plaintext_hmac,
            created_by=req.actor_id,
            created_at=now,
        )
    )
    session.flush()
    session.add(
        DataKey(
            id=digest.dek_id,
            version_id=vhex,
            domain_key_id=plan.domain_key_id,
            wrapped_dek=digest.wrapped_dek,
            created_at=now,
        )
    )
    session.add(
        Replica(version_id=vhex, site_name=plan.site.name, blob_key=plan.blob_key, stored_at=now)
    )
    upload = session.get(Upload, vhex)
    if upload is not None:
        session.delete(upload)
    commit_with_event(
        session,
        ctx,
        req.event(
            Outcome.OK,
            asset=plan.asset_id,
            version=number,
            version_id=vhex,
            size=digest.size,
            site=plan.site.name,
        ),
    )
    return number


def _abandon_upload(ctx: ServiceContext, plan: _Plan) -> None:
    """Undo a failed upload: no blob, no upload record, nothing half-visible.

    Checked in a fresh transaction: if the version did commit (an interrupt
    right after COMMIT), its blob is kept. Clean-up failures are left for
    ``fsck --repair`` so the original error is the one the caller sees.
    """
    vhex = plan.version_id.hex()
    try:
        with ctx.sessions() as session:
            if session.get(AssetVersion, vhex) is not None:
                return
            plan.site.store.delete(plan.blob_key)
            upload = session.get(Upload, vhex)
            if upload is not None:
                session.delete(upload)
                session.commit()
    except Exception:  # noqa: BLE001, S110 (fsck --repair finds what is left)
        pass


_Labels = tuple[str | None, dict[str, str], Progress]


def _put_once(
    ctx: ServiceContext,
    req: Request,
    source: Path | BinaryIO,
    project: str,
    name: str,
    labels: _Labels,
) -> tuple[_Plan, int, SealedVersion]:
    """Plan, encrypt, store and commit one version; undo everything on failure."""
    classification, clean_tags, progress = labels
    with _open_source(source) as src, ctx.sessions() as session:
        plan, level = _plan(session, ctx, req, project, name, classification)
        session.commit()  # end the read (SQLite: the write lock) before the lease's own
        with upload_lease(ctx, plan.version_id.hex()) as lease:
            _register_upload(session, ctx, plan, req.actor_id)
            try:
                digest = _encrypt_and_store(ctx, plan, src, progress)
                stored = _Stored(digest, level, clean_tags)
                lease.check(session)  # begins the version's transaction, row locked
                number = _commit_version(session, ctx, req, plan, name, stored)
                lease.committed = True  # the commit released the lease too
            except BaseException:
                session.rollback()
                _abandon_upload(ctx, plan)
                raise
    return plan, number, digest


def put_asset(
    ctx: ServiceContext,
    source: Path | BinaryIO,
    *,
    project: str,
    name: str | None = None,
    classification: str | None = None,
    tags: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> PutResult:
    """Encrypt ``source`` and store it as the next version of ``project/name``.

    Without ``name`` a file keeps its own (a stream must be named). Without
    ``classification`` a new version keeps the latest one's (a new asset:
    ``internal``), so re-putting never quietly lowers it.
    """
    if name is None:
        if not isinstance(source, Path):
            raise ValueError("name is required when putting a stream")
        name = source.name
    with request(ctx, Action.ASSET_PUT, f"{project}/{name}") as req:
        validate_name(name)
        if classification is not None:
            validate_classification(classification)
        clean_tags = validate_tags(tags or {})
        labels = (classification, clean_tags, progress or (lambda _n: None))
        try:
            plan, number, digest = _put_once(ctx, req, source, project, name, labels)
        except _RivalCreationError as rival:
            # Writers racing to create one name: the winner's asset now exists, so a
            # second attempt encrypts under its id and becomes its next version. A
            # stream cannot be read twice.
            if not isinstance(source, Path):
                raise ConflictError(str(rival), hint="put it again") from rival
            try:
                plan, number, digest = _put_once(ctx, req, source, project, name, labels)
            except _RivalCreationError as again:
                raise ConflictError(str(again), hint="put it again") from again
        return PutResult(
            plan.asset_id, name, project, number, plan.version_id.hex(), digest.size, req.id
        )
