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

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from sqlalchemy import select

from forgekeep.db.models import Asset, AssetVersion, DataKey, Project, Replica
from forgekeep.errors import ForgekeepError
from forgekeep.ledger.journal import Outcome
from forgekeep.service.assets.debris import Finding, find_debris
from forgekeep.service.assets.debris import repair as repair_debris
from forgekeep.service.authz import Action
from forgekeep.service.barrier import HeaderNames, Progress, read_header
from forgekeep.service.context import ServiceContext, SiteHandle
from forgekeep.service.core import commit_with_event, request

HASH_BLOCK = 1 << 20
__all__ = ["Finding", "FsckReport", "fsck"]


@dataclass(frozen=True, slots=True)
class _VersionRecord:
    """What fsck needs of one version, read in one short transaction."""

    id: str
    ciphertext_size: int
    ciphertext_sha256: str
    keys: tuple[str, str, str] | None  # ring, domain, DEK id as the header must name them
    replicas: tuple[tuple[str, str], ...]  # (site, blob key)


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


def _snapshot(ctx: ServiceContext) -> list[_VersionRecord]:
    with ctx.sessions() as session:
        rings = dict(
            session.execute(
                select(Asset.id, Project.key_ring_id).join(Project, Asset.project_id == Project.id)
            ).all()
        )
        keys = {k.version_id: k for k in session.scalars(select(DataKey)).all()}
        replicas: dict[str, list[tuple[str, str]]] = {}
        for replica in session.scalars(select(Replica)).all():
            replicas.setdefault(replica.version_id, []).append(
                (replica.site_name, replica.blob_key)
            )
        records = []
        for v in session.scalars(select(AssetVersion).order_by(AssetVersion.id)).all():
            key = keys.get(v.id)
            names = (rings.get(v.asset_id, ""), key.domain_key_id, key.id) if key else None
            records.append(
                _VersionRecord(
                    v.id,
                    v.ciphertext_size,
                    v.ciphertext_sha256,
                    names,
                    tuple(replicas.get(v.id, ())),
                )
            )
    return records


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


def _check_header(head: bytes, expected: tuple[str, str, str]) -> str | None:
    try:
        names = read_header(head)
    except ForgekeepError as exc:
        return f"bad header: {exc.code}"
    if names != HeaderNames(*expected):
        return "header names other keys than the database"
    return None


def _check_replica(
    ctx: ServiceContext, record: _VersionRecord, site_name: str, key: str, progress: Progress
) -> list[Finding]:
    site = ctx.sites.get(site_name)
    if site is None:
        return [Finding("unknown-site", site_name, record.id, "", False)]
    try:
        size = site.store.stat(key).size
        if size != record.ciphertext_size:
            return [
                Finding(
                    "size-mismatch", site.name, key, f"{size} != {record.ciphertext_size}", False
                )
            ]
        sha, head = _hash_blob(site, key, progress)
    except ForgekeepError as exc:
        return [Finding("missing-replica", site.name, key, exc.code, False)]
    found = []
    if sha != record.ciphertext_sha256:
        found.append(Finding("hash-mismatch", site.name, key, "", False))
    problem = _check_header(head, record.keys) if record.keys else None
    if problem:
        found.append(Finding("bad-header", site.name, key, problem, False))
    return found


def _check_version(
    ctx: ServiceContext, record: _VersionRecord, progress: Progress
) -> list[Finding]:
    if record.keys is None or not record.replicas:
        return [Finding("incomplete-metadata", "-", record.id, "no data key or replica", False)]
    found: list[Finding] = []
    for site_name, key in record.replicas:
        found.extend(_check_replica(ctx, record, site_name, key, progress))
    return found


def fsck(
    ctx: ServiceContext,
    *,
    repair: bool = False,
    grace: dt.timedelta | None = None,
    progress: Progress | None = None,
) -> FsckReport:
    """Check every version and every site; with ``repair`` remove stale debris.

    No transaction is held while blobs are hashed, so other commands keep
    working during a long scan.
    """
    grace = (
        grace
        if grace is not None
        else dt.timedelta(seconds=ctx.settings.uploads.orphan_grace_seconds)
    )
    tick = progress or (lambda _n: None)
    with request(ctx, Action.VAULT_REPAIR if repair else Action.VAULT_FSCK, "*") as req:
        report = FsckReport(request_id=req.id)
        for record in _snapshot(ctx):
            report.versions_checked += 1
            report.bytes_hashed += record.ciphertext_size
            report.findings.extend(_check_version(ctx, record, tick))
        report.findings.extend(find_debris(ctx, grace))
        if repair:
            _repair_all(ctx, report)
        with ctx.sessions() as session:
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


def _repair_all(ctx: ServiceContext, report: FsckReport) -> None:
    for finding in [f for f in report.findings if f.repairable]:
        if repair_debris(ctx, finding):
            report.repaired.append(finding)
            report.findings.remove(finding)
