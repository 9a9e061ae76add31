"""Put and get through the service core: round trips, versions, listings, soft delete."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from forgekeep.crypto.suite import CHUNK_SIZE
from forgekeep.db.models import AssetVersion, DataKey, Upload
from forgekeep.errors import ConflictError, NotFoundError
from forgekeep.service.vault import Vault
from forgekeep.testing.internals import context_of


@pytest.mark.parametrize(
    "size", [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 64 * CHUNK_SIZE, (1 << 20) + 3]
)
def test_round_trip_through_a_file(vault: Vault, tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    src = tmp_path / "part.step"
    src.write_bytes(data)
    put = vault.assets.put(src, project="blade")
    out = tmp_path / "out.step"
    got = vault.assets.get(put.asset_id, out)
    assert out.read_bytes() == data
    assert (got.size, got.version, put.version) == (size, 1, 1)


def test_round_trip_through_streams(vault: Vault) -> None:
    data = os.urandom(3 * CHUNK_SIZE + 17)
    vault.assets.put(io.BytesIO(data), project="blade", name="recipe.json")
    sink = io.BytesIO()
    vault.assets.get("recipe.json", sink)
    assert sink.getvalue() == data


def test_second_put_of_a_name_is_version_two(vault: Vault, tmp_path: Path) -> None:
    first = vault.assets.put(io.BytesIO(b"rev A"), project="blade", name="blade.step")
    second = vault.assets.put(
        io.BytesIO(b"rev B"),
        project="blade",
        name="blade.step",
        tags={"rev": "B"},
        classification="secret",
    )
    assert (first.asset_id, first.version) == (second.asset_id, 1)
    assert second.version == 2
    old, new = io.BytesIO(), io.BytesIO()
    vault.assets.get("blade.step@1", old)
    vault.assets.get("blade.step", new)
    assert (old.getvalue(), new.getvalue()) == (b"rev A", b"rev B")
    versions = vault.assets.versions("blade.step")
    assert [v.number for v in versions] == [1, 2]
    assert versions[1].tags == {"rev": "B"}
    assert versions[1].classification == "secret"
    assert versions[0].version_id != versions[1].version_id


def test_missing_version_is_not_found(vault: Vault) -> None:
    vault.assets.put(io.BytesIO(b"x"), project="blade", name="a.bin")
    with pytest.raises(NotFoundError) as caught:
        vault.assets.get("a.bin@7", io.BytesIO())
    assert caught.value.request_id
    assert caught.value.request_id.startswith("req-")


def test_rm_is_a_soft_delete_that_keeps_history(vault: Vault) -> None:
    vault.assets.put(io.BytesIO(b"v1"), project="blade", name="jig.step")
    asset_id = vault.assets.rm("jig.step")
    assert vault.assets.ls() == []
    assert [v.number for v in vault.assets.versions(asset_id)] == [1]
    with pytest.raises(NotFoundError):
        vault.assets.rm("jig.step")
    again = vault.assets.put(io.BytesIO(b"v2"), project="blade", name="jig.step")
    assert (again.asset_id, again.version) == (asset_id, 2)
    assert [a.name for a in vault.assets.ls()] == ["jig.step"]


def test_same_name_in_two_projects_needs_a_project(vault: Vault) -> None:
    vault.projects.create("mould", residency="DE")
    vault.assets.put(io.BytesIO(b"a"), project="blade", name="same.bin")
    vault.assets.put(io.BytesIO(b"b"), project="mould", name="same.bin")
    with pytest.raises(ConflictError):
        vault.assets.get("same.bin", io.BytesIO())
    sink = io.BytesIO()
    vault.assets.get("same.bin", sink, project="mould")
    assert sink.getvalue() == b"b"
    assert [a.project for a in vault.assets.ls()] == ["blade", "mould"]
    assert [a.project for a in vault.assets.ls(project="mould")] == ["mould"]


def test_database_keeps_no_bare_plaintext_hash(vault: Vault) -> None:
    data = b"low-entropy recipe: 210C"
    vault.assets.put(io.BytesIO(data), project="blade", name="recipe")
    bare = hashlib.sha256(data).hexdigest()
    with context_of(vault).sessions() as session:
        row = session.scalars(select(AssetVersion)).one()
        key = session.scalars(select(DataKey)).one()
        assert bare not in (row.plaintext_hmac, row.ciphertext_sha256)
        assert len(row.plaintext_hmac) == 64
        assert len(key.wrapped_dek) > 32  # only the wrapped DEK is stored
        assert session.scalars(select(Upload)).all() == []


def test_stored_blob_is_not_plaintext(vault: Vault) -> None:
    marker = b"ISO-10303-21;" * 100
    vault.assets.put(io.BytesIO(marker), project="blade", name="model.step")
    site = context_of(vault).home / "sites"
    blobs = [p for p in site.rglob("*") if p.is_file() and "ledger" not in p.parts]
    assert len(blobs) == 1  # besides the log's mirror (signed checkpoints, hashes)
    assert b"ISO-10303-21" not in blobs[0].read_bytes()


def test_shred_domain_per_asset_gets_its_own_domain_key(vault: Vault) -> None:
    vault.projects.create("secret-line", residency="DE", shred_domain="asset")
    vault.assets.put(io.BytesIO(b"1"), project="secret-line", name="a")
    vault.assets.put(io.BytesIO(b"2"), project="secret-line", name="b")
    project = vault.projects.show("secret-line")
    with context_of(vault).sessions() as session:
        domains = {k.domain_key_id for k in session.scalars(select(DataKey)).all()}
    assert len(domains) == 2
    assert project.domain_key not in domains
