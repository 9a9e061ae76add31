"""The sealing barrier: seal then open, and every way opening must refuse.

Type safety of the contexts is mypy's job, not a test's: ``VersionAddress.
wrap_context`` returns an ``AssetVersionContext``, and handing a key manager
anything but a ``WrapContext`` (raw bytes, say), or a ``LedgerSeedContext``
where an ``AssetVersionContext`` is expected, fails ``mypy --strict``.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import pytest

from forgekeep._durable import atomic_writer
from forgekeep.clock import ManualClock
from forgekeep.crypto.context import ledger_seed_context
from forgekeep.crypto.suite import BODY_PREFIX_SIZE, CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE
from forgekeep.errors import (
    CommitmentMismatchError,
    DigestMismatchError,
    FormatError,
    IntegrityError,
    NotFoundError,
    TruncatedError,
    UnwrapError,
)
from forgekeep.keys.local import KdfParams, LocalKeyManager
from forgekeep.keys.protocol import DomainKeyRef
from forgekeep.service.barrier import (
    HeaderNames,
    SealedVersion,
    StoredVersion,
    VersionAddress,
    new_version_id,
    open_version,
    read_header,
    read_prefix,
    seal_version,
)
from forgekeep.service.barrier._pipeline import PLAIN_BATCH

RING, DOMAIN = "t-1.de.assets", "dk-1"


@pytest.fixture(scope="module")
def km(tmp_path_factory: pytest.TempPathFactory) -> LocalKeyManager:
    path = tmp_path_factory.mktemp("barrier") / "keyring.fk"
    manager = LocalKeyManager.create(path, b"pass", params=KdfParams(64, 1, 1), clock=ManualClock())
    manager.create_ring(RING)
    manager.create_domain_key(DomainKeyRef(RING, DOMAIN))
    return manager


def _address(asset_id: str = "a-1", version_id: bytes | None = None) -> VersionAddress:
    return VersionAddress("t-1", RING, DOMAIN, asset_id, version_id or new_version_id())


class _Blob:
    """A sink that keeps what a store's put would write."""

    def __init__(self) -> None:
        self.data = b""
        self.calls = 0

    def __call__(self, chunks: Iterator[memoryview]) -> None:
        self.calls += 1
        self.data = b"".join(bytes(c) for c in chunks)


def _seal(
    km: LocalKeyManager, plaintext: bytes, address: VersionAddress | None = None
) -> tuple[VersionAddress, SealedVersion, bytes]:
    address = address or _address()
    blob = _Blob()
    sealed = seal_version(km, address, io.BytesIO(plaintext), blob, lambda _n: None)
    return address, sealed, blob.data


def _stored(address: VersionAddress, sealed: SealedVersion, **changes: object) -> StoredVersion:
    fields: dict[str, object] = {
        "address": address,
        "dek_id": sealed.dek_id,
        "wrapped_dek": sealed.wrapped_dek,
        "suite": sealed.suite,
        "size": sealed.size,
        "plaintext_hmac": sealed.plaintext_hmac,
        "label": "part.step@1",
    }
    fields.update(changes)
    return StoredVersion(**fields)  # type: ignore[arg-type]


def _source(data: bytes) -> Callable[[], io.BytesIO]:
    return lambda: io.BytesIO(data)


def _open(km: LocalKeyManager, stored: StoredVersion, data: bytes) -> tuple[int, bytes]:
    out = io.BytesIO()
    size = open_version(km, stored, _source(data), out.write, lambda _n: None)
    return size, out.getvalue()


@pytest.mark.parametrize(
    "size", [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, PLAIN_BATCH + 5]
)
def test_seal_then_open_round_trips(km: LocalKeyManager, size: int) -> None:
    plaintext = os.urandom(size)
    ticks: list[int] = []
    address = _address()
    blob = _Blob()
    sealed = seal_version(km, address, io.BytesIO(plaintext), blob, ticks.append)
    assert (sealed.size, sum(ticks), blob.calls) == (size, size, 1)
    assert sealed.suite == 1
    assert sealed.dek_id.startswith("k-")
    assert sealed.ciphertext_size == len(blob.data)
    assert sealed.ciphertext_sha256 == hashlib.sha256(blob.data).hexdigest()
    assert len(bytes.fromhex(sealed.plaintext_hmac)) == 32
    assert hashlib.sha256(plaintext).hexdigest() != sealed.plaintext_hmac
    assert read_header(blob.data) == HeaderNames(RING, DOMAIN, sealed.dek_id)
    read: list[int] = []
    out = io.BytesIO()
    got = open_version(km, _stored(address, sealed), _source(blob.data), out.write, read.append)
    assert (got, out.getvalue()) == (size, plaintext)
    assert sum(read) == len(blob.data) - len(read_prefix(io.BytesIO(blob.data)))


def test_the_dek_is_wrapped_under_the_versions_own_context(km: LocalKeyManager) -> None:
    address, sealed, _data = _seal(km, b"x")
    ref = DomainKeyRef(RING, DOMAIN)
    assert len(km.unwrap(ref, sealed.wrapped_dek, address.wrap_context(1))) == 32
    seed_context = ledger_seed_context(tenant="t-1", key_ring=RING, domain=DOMAIN)
    with pytest.raises(UnwrapError):
        km.unwrap(ref, sealed.wrapped_dek, seed_context)


def test_each_version_gets_fresh_ids_and_keys(km: LocalKeyManager) -> None:
    address = _address()
    one, two = _seal(km, b"same", address), _seal(km, b"same", address)
    assert one[1].dek_id != two[1].dek_id
    assert one[1].wrapped_dek != two[1].wrapped_dek
    assert one[2] != two[2]
    assert one[1].plaintext_hmac != two[1].plaintext_hmac
    assert len(new_version_id()) == 16
    assert new_version_id() != new_version_id()


def test_a_key_manager_refusal_writes_nothing(km: LocalKeyManager) -> None:
    blob = _Blob()
    address = VersionAddress("t-1", RING, "dk-missing", "a-1", new_version_id())
    with pytest.raises(NotFoundError):
        seal_version(km, address, io.BytesIO(b"data"), blob, lambda _n: None)
    assert blob.calls == 0


def test_a_tampered_chunk_is_refused_before_its_plaintext_leaves(km: LocalKeyManager) -> None:
    address, sealed, data = _seal(km, os.urandom(3 * CHUNK_SIZE))
    body = len(read_prefix(io.BytesIO(data)))
    tampered = bytearray(data)
    tampered[body + ENCRYPTED_CHUNK_SIZE + 7] ^= 1  # inside chunk 1
    out = io.BytesIO()
    with pytest.raises(IntegrityError, match="chunk 1"):
        open_version(km, _stored(address, sealed), _source(bytes(tampered)), out.write, print)
    assert len(out.getvalue()) <= CHUNK_SIZE  # at most chunk 0, which verified


@pytest.mark.parametrize(
    "change",
    [{"asset_id": "a-2"}, {"tenant": "t-2"}, {"version_id": bytes(16)}],
    ids=["asset", "tenant", "version"],
)
def test_a_wrong_context_is_refused(km: LocalKeyManager, change: dict[str, object]) -> None:
    address, sealed, data = _seal(km, b"payload")
    fields = {
        "tenant": address.tenant,
        "key_ring": address.key_ring,
        "domain": address.domain,
        "asset_id": address.asset_id,
        "version_id": address.version_id,
    }
    fields.update(change)
    other = VersionAddress(**fields)  # type: ignore[arg-type]
    with pytest.raises(UnwrapError):
        _open(km, _stored(other, sealed), data)


def test_another_versions_object_fails_the_commitment(km: LocalKeyManager) -> None:
    address, sealed, _data = _seal(km, b"mine")
    _other_address, _other, other_data = _seal(km, b"theirs")
    with pytest.raises(CommitmentMismatchError):
        _open(km, _stored(address, sealed), other_data)


def test_a_header_naming_other_keys_is_refused(km: LocalKeyManager) -> None:
    address, sealed, data = _seal(km, b"payload")
    with pytest.raises(IntegrityError, match="header does not match"):
        _open(km, _stored(address, sealed, dek_id="k-other"), data)


@pytest.mark.parametrize(
    "keep",
    [
        lambda _body: 0,
        lambda _body: BODY_PREFIX_SIZE + 5,
        lambda body: body + 2 * ENCRYPTED_CHUNK_SIZE,
        lambda body: body + 2 * ENCRYPTED_CHUNK_SIZE + 10,
    ],
    ids=["empty", "in-prefix", "final-chunk-gone", "final-shorter-than-its-tag"],
)
def test_a_truncated_stream_is_refused(km: LocalKeyManager, keep: Callable[[int], int]) -> None:
    address, sealed, data = _seal(km, os.urandom(2 * CHUNK_SIZE + 100))
    body = len(read_prefix(io.BytesIO(data)))
    out = io.BytesIO()
    with pytest.raises(TruncatedError):
        open_version(km, _stored(address, sealed), _source(data[: keep(body)]), out.write, print)
    assert len(out.getvalue()) <= 2 * CHUNK_SIZE  # verified full chunks only, never the tail


@pytest.mark.parametrize("change", ["hmac", "size"])
def test_a_mac_or_size_mismatch_is_refused_and_nothing_is_placed(
    km: LocalKeyManager, tmp_path: Path, change: str
) -> None:
    plaintext = os.urandom(CHUNK_SIZE + 3)
    address, sealed, data = _seal(km, plaintext)
    wrong = {"plaintext_hmac": "00" * 32} if change == "hmac" else {"size": sealed.size + 1}
    stored = _stored(address, sealed, **wrong)
    out = tmp_path / "out.step"
    refused = pytest.raises(DigestMismatchError, match=r"part\.step@1 failed its HMAC check")
    with refused, atomic_writer(out, mode=0o600) as handle:
        open_version(km, stored, _source(data), handle.write, lambda _n: None)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
    with atomic_writer(out, mode=0o600) as handle:
        open_version(km, _stored(address, sealed), _source(data), handle.write, print)
    assert out.read_bytes() == plaintext


def test_the_blob_is_opened_only_after_the_dek_unwrapped(km: LocalKeyManager) -> None:
    address, sealed, data = _seal(km, b"payload")
    opened: list[bool] = []

    def source() -> BinaryIO:
        opened.append(True)
        return io.BytesIO(data)

    stored = _stored(address, sealed, wrapped_dek=sealed.wrapped_dek[:-1] + b"\x00")
    with pytest.raises(UnwrapError):
        open_version(km, stored, source, io.BytesIO().write, lambda _n: None)
    assert opened == []


def test_read_header_names_the_keys_and_refuses_junk(km: LocalKeyManager) -> None:
    _, sealed, data = _seal(km, b"payload")
    assert read_header(data[:200]) == HeaderNames(RING, DOMAIN, sealed.dek_id)
    with pytest.raises(FormatError):
        read_header(b"NOTFKS" + data[6:])
    with pytest.raises(TruncatedError):
        read_header(data[:12])
    with pytest.raises(TruncatedError):
        read_header(data[:4])
