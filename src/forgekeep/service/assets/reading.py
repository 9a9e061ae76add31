"""Getting assets out, listing them, and soft-deleting them.

Security rules:

* A read's decision event is committed *before* the first byte is produced.
* Versions are opened by the barrier (:mod:`forgekeep.service.barrier`):
  every chunk is authenticated before its plaintext is released, the key
  commitment is checked before any chunk is decrypted, and the stored header
  must name the key ring, domain and DEK id the database recorded.
* A file output is written to a temporary name and renamed into place only
  after every chunk verified and the plaintext HMAC equals the database's; on
  any failure no output file is left. A stream output (``-o -``) is unverified
  until the call returns.
* ``rm`` is a soft delete: history, keys and blobs stay until a later shred.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from forgekeep._durable import OUTPUT_HINT, atomic_writer, translate_os_error
from forgekeep.db.models import Asset, AssetVersion, DataKey, Project, Replica
from forgekeep.db.repos.catalog import resolve_asset
from forgekeep.errors import IntegrityError, NotFoundError, UsageError
from forgekeep.ledger.journal import Outcome
from forgekeep.service.assets.names import split_reference, validate_purpose
from forgekeep.service.authz import CLASSIFICATION_LEVELS, Action
from forgekeep.service.barrier import (
    BlobSource,
    Progress,
    StoredVersion,
    VersionAddress,
    open_version,
)
from forgekeep.service.context import AssetTarget, ServiceContext
from forgekeep.service.core import Request, commit_with_event, record_standalone, request
from forgekeep.service.ledger import proofs as ledger_proofs
from forgekeep.storage.protocol import LocalDirectoryStore


@dataclass(frozen=True, slots=True)
class VersionInfo:
    number: int
    version_id: str
    size: int
    classification: str
    tags: dict[str, str]
    created_at: dt.datetime
    created_by: str
    ciphertext_sha256: str


@dataclass(frozen=True, slots=True)
class AssetSummary:
    id: str
    name: str
    project: str
    versions: int
    latest: VersionInfo
    deleted: bool


@dataclass(frozen=True, slots=True)
class GetResult:
    asset_id: str
    name: str
    version: int
    size: int
    request_id: str
    receipt: bytes | None = None  # tlog-proof of the decision event, when asked for


def _version_info(v: AssetVersion) -> VersionInfo:
    return VersionInfo(
        v.number,
        v.id,
        v.size,
        v.classification,
        dict(v.tags),
        v.created_at,
        v.created_by,
        v.ciphertext_sha256,
    )


def _pick_version(session: Session, asset: Asset, number: int | None) -> AssetVersion:
    query = select(AssetVersion).where(AssetVersion.asset_id == asset.id)
    if number is None:
        query = query.order_by(AssetVersion.number.desc()).limit(1)
    else:
        query = query.where(AssetVersion.number == number)
    row = session.scalar(query)
    if row is None:
        raise NotFoundError(
            f"{asset.name!r} has no version {number}", hint=f"run `forgekeep versions {asset.name}`"
        )
    return row


@dataclass(frozen=True, slots=True)
class _ReadPlan:
    asset: Asset
    version: AssetVersion
    data_key: DataKey
    replica: Replica
    ring: str
    project: Project


def _read_plan(session: Session, ctx: ServiceContext, ref: str, project: str | None) -> _ReadPlan:
    name, number = split_reference(ref)
    asset = resolve_asset(session, ctx.tenant_id, name, project)
    version = _pick_version(session, asset, number)
    data_key = session.scalar(select(DataKey).where(DataKey.version_id == version.id))
    replica = session.scalar(select(Replica).where(Replica.version_id == version.id))
    proj = session.get(Project, asset.project_id)
    if data_key is None or replica is None or proj is None:
        raise IntegrityError(f"metadata of {asset.name}@{version.number} is incomplete")
    return _ReadPlan(asset, version, data_key, replica, proj.key_ring_id, proj)


def _stored(ctx: ServiceContext, plan: _ReadPlan) -> StoredVersion:
    """The version as the database recorded it, for the barrier to open."""
    address = VersionAddress(
        ctx.tenant_id,
        plan.ring,
        plan.data_key.domain_key_id,
        plan.asset.id,
        bytes.fromhex(plan.version.id),
    )
    return StoredVersion(
        address,
        plan.data_key.id,
        plan.data_key.wrapped_dek,
        plan.version.suite,
        plan.version.size,
        plan.version.plaintext_hmac,
        f"{plan.asset.name}@{plan.version.number}",
    )


def _replica_source(ctx: ServiceContext, plan: _ReadPlan) -> BlobSource:
    def source() -> contextlib.AbstractContextManager[BinaryIO]:
        site = ctx.sites.get(plan.replica.site_name)
        if site is None:
            raise IntegrityError(f"the replica's site {plan.replica.site_name!r} is not configured")
        return site.store.get(plan.replica.blob_key)

    return source


def _writer(out: BinaryIO) -> Callable[[memoryview], None]:
    def write(view: memoryview) -> None:
        out.write(view)

    return write


def _stream_out(ctx: ServiceContext, plan: _ReadPlan, out: BinaryIO, progress: Progress) -> int:
    source = _replica_source(ctx, plan)
    return open_version(ctx.key_manager, _stored(ctx, plan), source, _writer(out), progress)


def _stream_to(ctx: ServiceContext, plan: _ReadPlan, out: BinaryIO, tick: Progress) -> int:
    try:
        size = _stream_out(ctx, plan, out, tick)
        out.flush()
    except OSError as exc:
        raise translate_os_error(exc, "the output stream", hint=OUTPUT_HINT) from exc
    return size


def _check_output(ctx: ServiceContext, out: Path) -> None:
    """Refuse outputs that are directories or lie inside the workspace or a site."""
    if out.is_dir():
        raise UsageError(f"{out} is a directory; give a file name with -o")
    target = out.parent.resolve() / out.name
    roots = [ctx.home.resolve()]
    roots += [s.store.root for s in ctx.sites.values() if isinstance(s.store, LocalDirectoryStore)]
    if any(target == root or root in target.parents for root in roots):
        raise UsageError(
            f"{out} is inside the workspace or a storage site",
            hint="write plaintext outside the workspace and its sites",
        )


def _decide_and_stream(
    ctx: ServiceContext,
    req: Request,
    ref: str,
    project: str | None,
    out: BinaryIO,
    tick: Progress,
    *,
    to_stream: bool,
) -> tuple[_ReadPlan, int]:
    with ctx.sessions() as session:
        plan = _read_plan(session, ctx, ref, project)
        req.authorize_asset(
            session, AssetTarget(plan.asset, plan.project, plan.version.classification)
        )
    # The decision is durable before the first byte leaves.
    record_standalone(
        ctx,
        [req.event(Outcome.OK, phase="decision", asset=plan.asset.id, version=plan.version.number)],
    )
    if to_stream:
        return plan, _stream_to(ctx, plan, out, tick)
    return plan, _stream_out(ctx, plan, out, tick)


def get_asset(
    ctx: ServiceContext,
    ref: str,
    out: Path | BinaryIO,
    *,
    project: str | None = None,
    progress: Progress | None = None,
    purpose: str = "unspecified",
    receipt: bool = False,
    receipt_wait: float = 0.0,
) -> GetResult:
    """Decrypt ``ref`` (``NAME_OR_ID[@VERSION]``) into ``out``, verifying everything.

    ``purpose`` is the declared purpose of the read; a licence only applies to
    reads made for its own purpose. With ``receipt``, the result carries the
    C2SP tlog-proof of the read's decision event (``get --receipt F``) under
    the newest cosigned checkpoint covering it, waiting up to ``receipt_wait``
    seconds for one (:mod:`forgekeep.service.ledger.proofs`).
    """
    tick = progress or (lambda _n: None)
    ledger_proofs.check_wait(receipt_wait)
    with request(ctx, Action.ASSET_GET, ref, purpose=validate_purpose(purpose)) as req:
        if isinstance(out, Path):
            _check_output(ctx, out)
            with atomic_writer(out, mode=0o600, hint=OUTPUT_HINT) as handle:
                plan, size = _decide_and_stream(
                    ctx, req, ref, project, handle, tick, to_stream=False
                )
        else:
            plan, size = _decide_and_stream(ctx, req, ref, project, out, tick, to_stream=True)
        record_standalone(
            ctx, [req.event(Outcome.OK, phase="complete", asset=plan.asset.id, size=size)]
        )
        # The read is done and journaled; its receipt may still have to wait for witnesses.
        proof = ledger_proofs.receipt(req, wait=receipt_wait) if receipt else None
        return GetResult(plan.asset.id, plan.asset.name, plan.version.number, size, req.id, proof)


def list_assets(
    ctx: ServiceContext, *, project: str | None = None, include_deleted: bool = False
) -> list[AssetSummary]:
    """Every visible asset with its latest version; one journal event for the listing."""
    with request(ctx, Action.ASSET_LIST, project or "*") as req, ctx.sessions() as session:
        query = (
            select(Asset, Project)
            .join(Project, Asset.project_id == Project.id)
            .where(Asset.tenant_id == ctx.tenant_id)
            .order_by(Project.name, Asset.name)
        )
        if project is not None:
            query = query.where(Project.name == project)
        if not include_deleted:
            query = query.where(Asset.deleted_at.is_(None))
        rows = [(a, p) for a, p in session.execute(query).all()]
        shown = {t.asset.id for t in req.visible(session, _targets(session, rows))}
        result = []
        for asset, project_row in rows:
            if asset.id not in shown:
                continue
            versions = session.scalars(
                select(AssetVersion)
                .where(AssetVersion.asset_id == asset.id)
                .order_by(AssetVersion.number)
            ).all()
            if versions:
                result.append(
                    AssetSummary(
                        asset.id,
                        asset.name,
                        project_row.name,
                        len(versions),
                        _version_info(versions[-1]),
                        asset.deleted_at is not None,
                    )
                )
        hidden = len(rows) - len(shown)
        commit_with_event(session, ctx, req.event(Outcome.OK, count=len(result), hidden=hidden))
        return result


def _targets(session: Session, rows: Sequence[tuple[Asset, Project]]) -> list[AssetTarget]:
    """Each listed asset as a decision sees it: classified by its latest version."""
    targets = []
    for asset, project in rows:
        latest = session.scalar(
            select(AssetVersion.classification)
            .where(AssetVersion.asset_id == asset.id)
            .order_by(AssetVersion.number.desc())
            .limit(1)
        )
        targets.append(AssetTarget(asset, project, latest or "internal"))
    return targets


def list_versions(
    ctx: ServiceContext, ref: str, *, project: str | None = None
) -> list[VersionInfo]:
    with request(ctx, Action.ASSET_VERSIONS, ref) as req, ctx.sessions() as session:
        asset = resolve_asset(session, ctx.tenant_id, ref, project)
        rows = session.scalars(
            select(AssetVersion)
            .where(AssetVersion.asset_id == asset.id)
            .order_by(AssetVersion.number)
        ).all()
        req.authorize_asset(session, _target(session, asset, rows))
        commit_with_event(session, ctx, req.event(Outcome.OK, asset=asset.id, count=len(rows)))
        return [_version_info(v) for v in rows]


def _target(session: Session, asset: Asset, versions: Sequence[AssetVersion]) -> AssetTarget:
    """The asset classified at its highest version classification (metadata of all)."""
    project = session.get(Project, asset.project_id)
    if project is None:
        raise IntegrityError(f"asset {asset.id} has no project")
    levels = sorted(versions, key=lambda v: CLASSIFICATION_LEVELS.get(v.classification, 3))
    return AssetTarget(asset, project, levels[-1].classification if levels else "internal")


def remove_asset(ctx: ServiceContext, ref: str, *, project: str | None = None) -> str:
    """Soft-delete: the asset disappears from listings; its history is kept."""
    with request(ctx, Action.ASSET_REMOVE, ref) as req, ctx.sessions() as session:
        asset = resolve_asset(session, ctx.tenant_id, ref, project)
        if asset.deleted_at is not None:
            raise NotFoundError(f"{asset.name!r} is already removed")
        versions = session.scalars(
            select(AssetVersion).where(AssetVersion.asset_id == asset.id)
        ).all()
        req.authorize_asset(session, _target(session, asset, versions))
        asset.deleted_at, asset.deleted_by = ctx.clock.now(), req.actor_id
        commit_with_event(session, ctx, req.event(Outcome.OK, asset=asset.id))
        return asset.id
