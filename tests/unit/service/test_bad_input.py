"""Every bad input gets a clear Forgekeep error and loses nothing (service level)."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from forgekeep.crypto.suite import CHUNK_SIZE, TAG_SIZE
from forgekeep.db.models import AssetVersion, Replica, Upload
from forgekeep.errors import (
    DiskFullError,
    FormatError,
    HeaderLimitError,
    InputMissingError,
    IntegrityError,
    InvalidNameError,
    UnknownVersionError,
    WrongPassphraseError,
)
from forgekeep.service.assets import writing as assets
from forgekeep.service.context import SiteHandle
from forgekeep.service.vault import Vault
from forgekeep.service.wiring import open_vault
from forgekeep.service.workspace.create import InitResult
from forgekeep.testing.fakes import FaultInjectingBlobStore
from forgekeep.testing.internals import context_of

ENC_CHUNK = CHUNK_SIZE + TAG_SIZE
BODY_PREFIX = 56


def _blob_of(vault: Vault, name: str, number: int | None = None) -> Path:
    versions = vault.assets.versions(name)
    version = versions[-1] if number is None else versions[number - 1]
    with context_of(vault).sessions() as session:
        replica = session.scalars(
            select(Replica).where(Replica.version_id == version.version_id)
        ).one()
    return context_of(vault).home / "sites" / "local-de" / replica.blob_key


def _body_start(blob: bytes) -> int:
    return int.from_bytes(blob[8:10], "big") + BODY_PREFIX


def _put(vault: Vault, name: str, data: bytes) -> None:
    vault.assets.put(io.BytesIO(data), project="blade", name=name)


def _refused_without_output(
    vault: Vault, tmp_path: Path, name: str, error: type[Exception]
) -> None:
    out = tmp_path / "out.bin"
    with pytest.raises(error):
        vault.assets.get(name, out)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".fk-tmp")] == []


def test_wrong_passphrase(workspace: InitResult) -> None:
    with pytest.raises(WrongPassphraseError):
        open_vault(workspace.home, passphrase=b"not the passphrase")


@pytest.mark.parametrize("k", [0, 2, 3])
def test_flipped_byte_in_chunk_k_fails_before_chunk_k_is_emitted(vault: Vault, k: int) -> None:
    data = os.urandom(4 * CHUNK_SIZE + 100)
    _put(vault, "part.step", data)
    blob = _blob_of(vault, "part.step")
    raw = bytearray(blob.read_bytes())
    raw[_body_start(raw) + k * ENC_CHUNK + 7] ^= 0x40
    blob.write_bytes(raw)
    sink = io.BytesIO()
    with pytest.raises(IntegrityError):
        vault.assets.get("part.step", sink)
    emitted = sink.getvalue()
    assert len(emitted) <= k * CHUNK_SIZE
    assert data.startswith(emitted)


def _truncate_at_boundary(raw: bytearray) -> bytes:
    return bytes(raw[: _body_start(raw) + 2 * ENC_CHUNK])


def _truncate_inside(raw: bytearray) -> bytes:
    return bytes(raw[: _body_start(raw) + 2 * ENC_CHUNK + 100])


def _reorder(raw: bytearray) -> bytes:
    start = _body_start(raw)
    first = raw[start : start + ENC_CHUNK]
    second = raw[start + ENC_CHUNK : start + 2 * ENC_CHUNK]
    return bytes(raw[:start] + second + first + raw[start + 2 * ENC_CHUNK :])


def _drop_prefix(raw: bytearray) -> bytes:
    return bytes(raw[:5])


@pytest.mark.parametrize(
    "damage", [_truncate_at_boundary, _truncate_inside, _reorder, _drop_prefix]
)
def test_damaged_ciphertext_is_refused(
    vault: Vault, tmp_path: Path, damage: Callable[[bytearray], bytes]
) -> None:
    _put(vault, "part.step", os.urandom(3 * CHUNK_SIZE + 9))
    blob = _blob_of(vault, "part.step")
    blob.write_bytes(damage(bytearray(blob.read_bytes())))
    _refused_without_output(vault, tmp_path, "part.step", (IntegrityError, FormatError))


def test_splicing_chunks_from_two_versions_is_refused(vault: Vault, tmp_path: Path) -> None:
    _put(vault, "part.step", os.urandom(3 * CHUNK_SIZE + 9))
    _put(vault, "part.step", os.urandom(3 * CHUNK_SIZE + 9))
    one, two = _blob_of(vault, "part.step", 1), _blob_of(vault, "part.step", 2)
    raw1, raw2 = bytearray(one.read_bytes()), two.read_bytes()
    start = _body_start(raw1) + ENC_CHUNK
    raw1[start : start + ENC_CHUNK] = raw2[start : start + ENC_CHUNK]
    one.write_bytes(raw1)
    _refused_without_output(vault, tmp_path, "part.step@1", IntegrityError)
    good = io.BytesIO()
    vault.assets.get("part.step@2", good)
    assert len(good.getvalue()) == 3 * CHUNK_SIZE + 9


def test_blob_of_another_asset_moved_into_place_is_refused(vault: Vault, tmp_path: Path) -> None:
    _put(vault, "victim.step", b"victim" * 1000)
    _put(vault, "other.step", b"other" * 1000)
    _blob_of(vault, "victim.step").write_bytes(_blob_of(vault, "other.step").read_bytes())
    _refused_without_output(vault, tmp_path, "victim.step", IntegrityError)


def test_unknown_format_version_is_refused(vault: Vault, tmp_path: Path) -> None:
    _put(vault, "part.step", b"x" * 100)
    blob = _blob_of(vault, "part.step")
    raw = bytearray(blob.read_bytes())
    raw[6] = 9
    blob.write_bytes(raw)
    _refused_without_output(vault, tmp_path, "part.step", UnknownVersionError)


def test_header_length_over_its_limit_is_refused(vault: Vault, tmp_path: Path) -> None:
    _put(vault, "part.step", b"x" * 100)
    blob = _blob_of(vault, "part.step")
    raw = bytearray(blob.read_bytes())
    raw[8:10] = (60000).to_bytes(2, "big")
    blob.write_bytes(raw)
    _refused_without_output(vault, tmp_path, "part.step", HeaderLimitError)


@pytest.mark.parametrize("name", ["a/b", "..", ".", "nul\x00byte", "x" * 256, "é" * 128, ""])
def test_bad_names_are_refused(vault: Vault, name: str) -> None:
    with pytest.raises(InvalidNameError):
        vault.assets.put(io.BytesIO(b"data"), project="blade", name=name)
    assert vault.assets.ls() == []


def test_missing_input_is_refused(vault: Vault, tmp_path: Path) -> None:
    with pytest.raises(InputMissingError):
        vault.assets.put(tmp_path / "nope.step", project="blade")


def test_full_disk_leaves_nothing_visible(vault: Vault, tmp_path: Path) -> None:
    _put(vault, "keep.step", b"precious")
    site = context_of(vault).default_site
    faulty = FaultInjectingBlobStore(site.store, fail_after_bytes=100_000)
    context_of(vault).sites = {site.name: SiteHandle(site.name, site.jurisdiction, faulty)}
    with pytest.raises(DiskFullError):
        _put(vault, "big.bin", os.urandom(1 << 20))
    assert [a.name for a in vault.assets.ls()] == ["keep.step"]
    with context_of(vault).sessions() as session:
        assert session.scalars(select(Upload)).all() == []
        assert len(session.scalars(select(AssetVersion)).all()) == 1
    context_of(vault).sites = {site.name: site}
    assert vault.assets.fsck(grace=None).clean
    out = tmp_path / "keep.out"
    vault.assets.get("keep.step", out)
    assert out.read_bytes() == b"precious"


def test_an_interrupt_right_after_commit_keeps_the_committed_blob(
    vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = assets.commit_with_event

    def commit_then_interrupt(*args: object, **kwargs: object) -> None:
        real(*args, **kwargs)  # type: ignore[arg-type]
        raise KeyboardInterrupt

    monkeypatch.setattr(assets, "commit_with_event", commit_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        _put(vault, "late.step", b"committed before the interrupt")
    monkeypatch.setattr(assets, "commit_with_event", real)
    out = tmp_path / "late.out"
    vault.assets.get("late.step", out)
    assert out.read_bytes() == b"committed before the interrupt"
