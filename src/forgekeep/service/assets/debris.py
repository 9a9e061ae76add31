"""What a crash or a failed upload can leave behind, and how fsck removes it safely.

Security rules:

* A blob is an orphan only if no committed version names it: neither a replica
  row nor the version's own blob key.
* Nothing is removed while its upload's lease is live (see
  :mod:`forgekeep.service.assets.leases`): repair first takes the lease over, which
  succeeds only once a crashed owner's lease has expired, holds it while it
  removes, and re-checks in a fresh, short transaction just before removing,
  so a put that commits during the scan keeps its blob, and a put whose lease
  was taken over cannot commit afterwards.
* Only debris older than the grace period is repairable.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from forgekeep._durable import TEMP_PREFIX
from forgekeep.db.models import AssetVersion, Replica, Upload
from forgekeep.service.assets.leases import expired_leases, release, take_over, upload_in_progress
from forgekeep.service.assets.writing import blob_key_for
from forgekeep.service.context import ServiceContext
from forgekeep.storage.protocol import BlobStore, TemporaryListing


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    site: str
    target: str
    detail: str
    repairable: bool


def is_stale(ctx: ServiceContext, stamp: dt.datetime, grace: dt.timedelta) -> bool:
    # A time stamp from the future (clock skew) counts as age zero.
    return max(ctx.clock.now() - stamp, dt.timedelta(0)) >= grace


def version_of_blob(key: str) -> str:
    """The version hex a blob key or a temporary file name belongs to ('' if none)."""
    name = key.rsplit("/", 1)[-1]
    if name.startswith(TEMP_PREFIX):
        name = name[len(TEMP_PREFIX) :].partition("-")[2]
    return name


def _known_blob_keys(ctx: ServiceContext) -> tuple[set[str], dict[str, Upload]]:
    with ctx.sessions() as session:
        known = set(session.scalars(select(Replica.blob_key)).all())
        for asset_id, version_id in session.execute(
            select(AssetVersion.asset_id, AssetVersion.id)
        ).all():
            known.add(blob_key_for(asset_id, version_id))
        uploads = {u.blob_key: u for u in session.scalars(select(Upload)).all()}
    return known, uploads


def _temporaries(
    ctx: ServiceContext, site: str, store: BlobStore, grace: dt.timedelta
) -> list[Finding]:
    if not isinstance(store, TemporaryListing):
        return []
    found = []
    for tmp in store.list_temporaries():
        busy = upload_in_progress(ctx, version_of_blob(tmp.key))
        found.append(
            Finding(
                "temporary-file",
                site,
                tmp.key,
                "in progress" if busy else "",
                not busy and is_stale(ctx, tmp.modified_at, grace),
            )
        )
    return found


def find_debris(ctx: ServiceContext, grace: dt.timedelta) -> list[Finding]:
    """Orphan blobs, temporary files, abandoned uploads and stale leases."""
    known, uploads = _known_blob_keys(ctx)
    found: list[Finding] = []
    for site in ctx.sites.values():
        for info in site.store.list("v1/"):
            if info.key in known:
                continue
            busy = upload_in_progress(ctx, version_of_blob(info.key))
            found.append(
                Finding(
                    "orphan-blob",
                    site.name,
                    info.key,
                    "in progress" if busy else "",
                    not busy and is_stale(ctx, info.modified_at, grace),
                )
            )
        found.extend(_temporaries(ctx, site.name, site.store, grace))
    for upload in uploads.values():
        busy = upload_in_progress(ctx, upload.version_id)
        found.append(
            Finding(
                "abandoned-upload",
                upload.site_name,
                upload.version_id,
                "in progress" if busy else "",
                not busy and is_stale(ctx, upload.started_at, grace),
            )
        )
    found.extend(_stale_leases(ctx, grace))
    return found


def _stale_leases(ctx: ServiceContext, grace: dt.timedelta) -> list[Finding]:
    """Expired leases whose owner is gone (a crashed put); repairable after the grace."""
    return [
        Finding("stale-lease", "-", row.version_id, f"{row.host} pid {row.pid}",
                is_stale(ctx, row.expires_at, grace))
        for row in expired_leases(ctx)
    ]  # fmt: skip


def _version(finding: Finding) -> str:
    if finding.kind in ("abandoned-upload", "stale-lease"):
        return finding.target
    return version_of_blob(finding.target)


def _still_debris(ctx: ServiceContext, finding: Finding, version: str) -> bool:
    """Re-check, just before removing, that nothing claims this debris now."""
    with ctx.sessions() as session:
        if session.get(AssetVersion, version) is not None:
            return finding.kind == "stale-lease"
        return session.scalar(select(Replica.id).where(Replica.blob_key == finding.target)) is None


def repair(ctx: ServiceContext, finding: Finding) -> bool:
    """Remove one repairable piece of debris; False if it turned out not to be debris.

    Holds the upload's lease while it removes: taking it over fails while the
    upload is live, and a put whose lease was taken over cannot commit.
    """
    if not finding.repairable:
        return False
    version = _version(finding)
    owner = take_over(ctx, version)
    if owner is None:
        return False  # a live upload holds it
    try:
        if not _still_debris(ctx, finding, version):
            return False
        if finding.kind == "stale-lease":
            return True  # released below
        store = ctx.sites[finding.site].store
        if finding.kind == "orphan-blob":
            store.delete(finding.target)
        elif finding.kind == "temporary-file":
            store.remove_temporary(finding.target)  # type: ignore[attr-defined]
        else:
            _remove_abandoned_upload(ctx, store, finding.target)
        return True
    finally:
        release(ctx, version, owner)


def _remove_abandoned_upload(ctx: ServiceContext, store: BlobStore, version_hex: str) -> None:
    with ctx.sessions() as session:
        upload = session.get(Upload, version_hex)
        if upload is not None:
            store.delete(upload.blob_key)
            session.delete(upload)
            session.commit()
