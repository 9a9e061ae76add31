"""``forgekeep fsck``: check that the database and the sites agree.

Checks every committed version (its replica exists, has the recorded size, a
well-formed header naming the recorded keys, and the recorded ciphertext
SHA-256), and lists what really sits in every site to find orphans, abandoned
uploads and temporary files left by a killed process.

Security rules: ``--repair`` only ever deletes *orphans* — blobs no committed
version refers to, abandoned upload records and temporary files — and only
when they are older than the grace period *and* no process holds the upload's
lease. It never touches a committed version, whatever its state; damaged
versions are reported for restore from a replica.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from sqlalchemy import select
from sqlalchemy.orm import Session

from forgekeep.crypto import StreamHeader
from forgekeep.db.models import Asset, AssetVersion, DataKey, Project, Replica, Upload
from forgekeep.errors import ForgekeepError
from forgekeep.ledger.journal import Outcome
from forgekeep.service._core import ServiceContext, SiteHandle, commit_with_event, request
from forgekeep.service._pipeline import Progress
from forgekeep.service.assets import lease_path, upload_in_progress
from forgekeep.service.authz import Action
from forgekeep.storage.protocol import BlobInfo

HASH_BLOCK = 1 << 20


@runtime_checkable
class SupportsTemporaries(Protocol):
    def list_temporaries(self) -> Iterator[BlobInfo]: ...
    def remove_temporary(self, key: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    site: str
    target: str
    detail: str
    repairable: bool


@dataclass(slots=True)
class FsckReport:
    versions_checked: int = 0
    bytes_hashed: int = 0
    findings: list[Finding] = field(default_factory=list)
    repaired: list[Finding] = field(default_factory=list)
    request_id: str = ""

    @property
    def clean(self) -> bool:
        return not self.findings


def _hash_blob(site: SiteHandle, key: str, progress: Progress) -> tuple[str, bytes]:
    digest = hashlib.sha256()
    with site.store.get(key) as blob:
        head = blob.read(HASH_BLOCK)
        digest.update(head)
        progress(len(head))
        while block := blob.read(HASH_BLOCK):
            digest.update(block)
            progress(len(block))
    return digest.hexdigest(), head


def _check_header(head: bytes, ring: str, data_key: DataKey) -> str | None:
    try:
        length = StreamHeader.peek_length(head[:10])
        header = StreamHeader.decode(head[:length])
    except ForgekeepError as exc:
        return f"bad header: {exc.code}"
    if (header.key_ring_id, header.domain_id, header.dek_id) != (
        ring,
        data_key.domain_key_id,
        data_key.id,
    ):
        return "header names other keys than the database"
    return None


def _check_version(
    ctx: ServiceContext, session: Session, version: AssetVersion, progress: Progress
) -> list[Finding]:
    replicas = session.scalars(select(Replica).where(Replica.version_id == version.id)).all()
    data_key = session.scalar(select(DataKey).where(DataKey.version_id == version.id))
    ring = _ring_of(session, version)
    if data_key is None or not replicas:
        return [Finding("incomplete-metadata", "-", version.id, "no data key or replica", False)]
    found: list[Finding] = []
    for replica in replicas:
        site = ctx.sites.get(replica.site_name)
        if site is None:
            found.append(Finding("unknown-site", replica.site_name, version.id, "", False))
            continue
        try:
            info = site.store.stat(replica.blob_key)
            if info.size != version.ciphertext_size:
                found.append(
                    Finding(
                        "size-mismatch",
                        site.name,
                        replica.blob_key,
                        f"{info.size} != {version.ciphertext_size}",
                        False,
                    )
                )
                continue
            sha, head = _hash_blob(site, replica.blob_key, progress)
        except ForgekeepError as exc:
            found.append(Finding("missing-replica", site.name, replica.blob_key, exc.code, False))
            continue
        if sha != version.ciphertext_sha256:
            found.append(Finding("hash-mismatch", site.name, replica.blob_key, "", False))
        problem = _check_header(head, ring, data_key)
        if problem:
            found.append(Finding("bad-header", site.name, replica.blob_key, problem, False))
    return found


def _ring_of(session: Session, version: AssetVersion) -> str:
    asset = session.get(Asset, version.asset_id)
    project = session.get(Project, asset.project_id) if asset else None
    return project.key_ring_id if project else ""


def _is_stale(ctx: ServiceContext, started: dt.datetime, grace: dt.timedelta) -> bool:
    # A time stamp from the future (clock skew) counts as age zero.
    return max(ctx.clock.now() - started, dt.timedelta(0)) >= grace


def _orphans(ctx: ServiceContext, session: Session, grace: dt.timedelta) -> list[Finding]:
    known = set(session.scalars(select(Replica.blob_key)).all())
    uploads = {u.blob_key: u for u in session.scalars(select(Upload)).all()}
    found: list[Finding] = []
    for site in ctx.sites.values():
        for info in site.store.list("v1/"):
            if info.key in known:
                continue
            upload = uploads.get(info.key)
            busy = upload is not None and upload_in_progress(ctx, upload.version_id)
            stale = not busy and _is_stale(ctx, info.modified_at, grace)
            found.append(
                Finding("orphan-blob", site.name, info.key, "in progress" if busy else "", stale)
            )
        if isinstance(site.store, SupportsTemporaries):
            found.extend(
                Finding(
                    "temporary-file", site.name, tmp.key, "", _is_stale(ctx, tmp.modified_at, grace)
                )
                for tmp in site.store.list_temporaries()
            )
    for upload in uploads.values():
        busy = upload_in_progress(ctx, upload.version_id)
        found.append(
            Finding(
                "abandoned-upload",
                upload.site_name,
                upload.version_id,
                "in progress" if busy else "",
                not busy and _is_stale(ctx, upload.started_at, grace),
            )
        )
    return found


def _stale_leases(ctx: ServiceContext, grace: dt.timedelta) -> list[Finding]:
    """Lease files left by killed uploads: no holder, older than the grace period."""
    folder = ctx.run_dir / "uploads"
    found = []
    for path in sorted(folder.glob("*.lock")) if folder.is_dir() else []:
        mtime = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
        if not upload_in_progress(ctx, path.stem):
            found.append(Finding("stale-lease", "-", path.stem, "", _is_stale(ctx, mtime, grace)))
    return found


def _remove_lease(ctx: ServiceContext, version_hex: str) -> None:
    path = lease_path(ctx, version_hex)
    with contextlib.suppress(FileNotFoundError):
        fd = os.open(path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            path.unlink()
        except BlockingIOError:
            pass  # an upload took it meanwhile: it is not stale
        finally:
            os.close(fd)


def _repair(ctx: ServiceContext, session: Session, finding: Finding) -> None:
    if finding.kind == "stale-lease":
        _remove_lease(ctx, finding.target)
        return
    site = ctx.sites[finding.site]
    if finding.kind == "orphan-blob":
        site.store.delete(finding.target)
    elif finding.kind == "temporary-file" and isinstance(site.store, SupportsTemporaries):
        site.store.remove_temporary(finding.target)
    elif finding.kind == "abandoned-upload":
        upload = session.get(Upload, finding.target)
        if upload is not None:
            site.store.delete(upload.blob_key)
            session.delete(upload)
        _remove_lease(ctx, finding.target)


def fsck(
    ctx: ServiceContext,
    *,
    repair: bool = False,
    grace: dt.timedelta | None = None,
    progress: Progress | None = None,
) -> FsckReport:
    """Check every version and every site; with ``repair`` remove stale orphans."""
    grace = (
        grace
        if grace is not None
        else dt.timedelta(seconds=ctx.settings.uploads.orphan_grace_seconds)
    )
    tick = progress or (lambda _n: None)
    action = Action.VAULT_REPAIR if repair else Action.VAULT_FSCK
    with request(ctx, action, "*") as req, ctx.sessions() as session:
        report = FsckReport(request_id=req.id)
        for version in session.scalars(select(AssetVersion).order_by(AssetVersion.id)).all():
            report.versions_checked += 1
            report.bytes_hashed += version.ciphertext_size
            report.findings.extend(_check_version(ctx, session, version, tick))
        report.findings.extend(_orphans(ctx, session, grace))
        report.findings.extend(_stale_leases(ctx, grace))
        if repair:
            for finding in [f for f in report.findings if f.repairable]:
                _repair(ctx, session, finding)
                report.repaired.append(finding)
                report.findings.remove(finding)
        commit_with_event(
            session,
            ctx,
            req.event(
                Outcome.OK,
                versions=report.versions_checked,
                findings=len(report.findings),
                repaired=len(report.repaired),
            ),
        )
        return report
