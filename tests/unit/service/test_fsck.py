"""fsck finds what is wrong; --repair removes only stale orphans, never committed data."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import threading
from collections.abc import Iterator

from sqlalchemy import select

from forgekeep.clock import ManualClock
from forgekeep.db.models import Replica, Upload
from forgekeep.service.assets.leases import upload_lease
from forgekeep.service.vault import Vault
from forgekeep.testing.internals import context_of

HOUR = dt.timedelta(hours=1)


@contextlib.contextmanager
def _lease_held_elsewhere(vault: Vault, version_hex: str) -> Iterator[None]:
    """Another thread holds the upload's lease, as a put in progress would."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with upload_lease(context_of(vault), version_hex):
            held.set()
            release.wait(10)

    worker = threading.Thread(target=hold)
    worker.start()
    held.wait(10)
    try:
        yield
    finally:
        release.set()
        worker.join()


def _site_root(vault: Vault) -> object:
    return context_of(vault).home / "sites" / "local-de"


def _kinds(vault: Vault, **kwargs: object) -> list[str]:
    return sorted(f.kind for f in vault.assets.fsck(**kwargs).findings)  # type: ignore[arg-type]


def test_clean_vault_is_clean(vault: Vault) -> None:
    vault.assets.put(io.BytesIO(os.urandom(50_000)), project="blade", name="a")
    report = vault.assets.fsck()
    assert report.clean
    assert report.versions_checked == 1
    assert report.bytes_hashed > 50_000


def test_orphan_blob_is_removed_only_after_the_grace_period(
    vault: Vault, clock: ManualClock
) -> None:
    store = context_of(vault).default_site.store
    store.put("v1/a-orphan/" + "0" * 32, [b"stray ciphertext"])
    assert _kinds(vault) == ["orphan-blob"]
    young = vault.assets.fsck(repair=True, grace=HOUR)
    assert young.repaired == []
    assert len(young.findings) == 1
    clock.advance(2 * HOUR)
    old = vault.assets.fsck(repair=True, grace=dt.timedelta(0))
    assert [f.kind for f in old.repaired] == ["orphan-blob"]
    assert vault.assets.fsck().clean


def test_an_upload_in_progress_is_never_repaired(vault: Vault) -> None:
    version_hex = "ab" * 16
    key = f"v1/a-busy/{version_hex}"
    context_of(vault).default_site.store.put(key, [b"partial"])
    with context_of(vault).sessions() as session:
        session.add(
            Upload(
                version_id=version_hex,
                tenant_id=vault.tenant_id,
                asset_id="a-busy",
                blob_key=key,
                site_name="local-de",
                state="pending",
                started_by=vault.principal_id,
                started_at=context_of(vault).clock.now() - 100 * HOUR,
            )
        )
        session.commit()
    with _lease_held_elsewhere(vault, version_hex):
        report = vault.assets.fsck(repair=True, grace=dt.timedelta(0))
        assert report.repaired == []
        assert {f.detail for f in report.findings} == {"in progress"}
    after = vault.assets.fsck(repair=True, grace=dt.timedelta(0))
    assert sorted(f.kind for f in after.repaired) == ["abandoned-upload", "orphan-blob"]
    assert vault.assets.fsck().clean


def test_temporary_files_left_by_a_crash_are_cleaned(vault: Vault) -> None:
    root = context_of(vault).home / "sites" / "local-de"
    (root / "v1").mkdir(exist_ok=True)
    (root / "v1" / ".fk-tmp-0123456789abcdef-x").write_bytes(b"half")
    assert _kinds(vault) == ["temporary-file"]
    report = vault.assets.fsck(repair=True, grace=dt.timedelta(0))
    assert [f.kind for f in report.repaired] == ["temporary-file"]
    assert vault.assets.fsck().clean


def test_damaged_and_missing_versions_are_reported_never_repaired(vault: Vault) -> None:
    vault.assets.put(io.BytesIO(os.urandom(40_000)), project="blade", name="a")
    vault.assets.put(io.BytesIO(os.urandom(40_000)), project="blade", name="b")
    root = context_of(vault).home / "sites" / "local-de"
    with context_of(vault).sessions() as session:
        keys = [r.blob_key for r in session.scalars(select(Replica)).all()]
    damaged = root / keys[0]
    raw = bytearray(damaged.read_bytes())
    raw[-5] ^= 1
    damaged.write_bytes(raw)
    (root / keys[1]).unlink()
    report = vault.assets.fsck(repair=True, grace=dt.timedelta(0))
    assert sorted(f.kind for f in report.findings) == ["hash-mismatch", "missing-replica"]
    assert report.repaired == []
    assert damaged.exists()


def test_a_header_naming_other_keys_is_reported(vault: Vault) -> None:
    vault.assets.put(io.BytesIO(b"x" * 100), project="blade", name="a")
    vault.assets.put(io.BytesIO(b"y" * 100), project="blade", name="b")
    root = context_of(vault).home / "sites" / "local-de"
    with context_of(vault).sessions() as session:
        keys = [r.blob_key for r in session.scalars(select(Replica)).all()]
    (root / keys[0]).write_bytes((root / keys[1]).read_bytes())
    kinds = _kinds(vault)
    assert "bad-header" in kinds
    assert "hash-mismatch" in kinds


def test_fsck_holds_no_transaction_while_hashing(vault: Vault) -> None:
    vault.assets.put(io.BytesIO(os.urandom(3 << 20)), project="blade", name="big")
    seen: list[int] = []

    def during_scan(_n: int) -> None:
        if not seen:  # another command runs while fsck hashes
            seen.append(len(vault.assets.ls()))
            vault.assets.put(io.BytesIO(b"meanwhile"), project="blade", name="meanwhile")

    report = vault.assets.fsck(progress=during_scan)
    assert seen == [1]
    assert report.clean


def test_a_version_without_replica_rows_keeps_its_blob(vault: Vault) -> None:
    vault.assets.put(io.BytesIO(b"committed" * 1000), project="blade", name="a")
    with context_of(vault).sessions() as session:
        for row in session.scalars(select(Replica)).all():
            session.delete(row)
        session.commit()
    report = vault.assets.fsck(repair=True, grace=dt.timedelta(0))
    assert report.repaired == []
    assert [f.kind for f in report.findings] == ["incomplete-metadata"]
    assert [p for p in (context_of(vault).home / "sites").rglob("*") if p.is_file()]


def test_the_temporary_file_of_an_upload_in_progress_is_kept(vault: Vault) -> None:
    version_hex = "cd" * 16
    root = context_of(vault).home / "sites" / "local-de" / "v1" / "a-busy"
    root.mkdir(parents=True)
    temp = root / f".fk-tmp-0123456789abcdef-{version_hex}"
    temp.write_bytes(b"half")
    with _lease_held_elsewhere(vault, version_hex):
        report = vault.assets.fsck(repair=True, grace=dt.timedelta(0))
        assert report.repaired == []
        assert temp.exists()
    assert [f.kind for f in vault.assets.fsck(repair=True, grace=dt.timedelta(0)).repaired] == [
        "temporary-file"
    ]
