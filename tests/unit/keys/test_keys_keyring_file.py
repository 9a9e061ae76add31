"""The keyring file format: passphrases, truncation, tampering, hostile headers, limits."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from forgekeep import limits
from forgekeep.clock import ManualClock
from forgekeep.crypto.context import RelayedContext
from forgekeep.errors import (
    ConfigError,
    ConflictError,
    FormatError,
    HeaderLimitError,
    IntegrityError,
    KeyManagerError,
    LimitExceededError,
    NotFoundError,
    UnknownVersionError,
    UsageError,
    WrongPassphraseError,
)
from forgekeep.keys import _payload
from forgekeep.keys._keyring_file import (
    MAGIC,
    PREFIX,
    KdfParams,
    KeyringHeader,
    open_payload,
    parse_file,
    read_file,
    seal_file,
)
from forgekeep.keys.local import LocalKeyManager, derive_key
from forgekeep.keys.protocol import DomainKeyRef, KeyState


def _kdf(**changes: Any) -> dict[str, Any]:
    kdf: dict[str, Any] = {
        "alg": "argon2id",
        "iterations": 1,
        "lanes": 1,
        "memory_kib": 64,
        "salt": "AAAAAAAAAAAAAAAAAAAAAA==",
    }
    kdf.update(changes)
    return kdf


def _header(**kdf_changes: Any) -> bytes:
    document = {"format": "forgekeep-keyring", "kdf": _kdf(**kdf_changes), "version": 1}
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def _file(header: bytes, payload: bytes = b"\x00" * 40, version: int = 1) -> bytes:
    return PREFIX.pack(MAGIC, version, len(header), len(payload)) + header + payload


def _plaintext(path: Path, passphrase: bytes) -> bytes:
    return open_payload(read_file(path), derive_key(path, passphrase))


def test_the_file_starts_with_magic_and_a_readable_header(km: LocalKeyManager) -> None:
    data = km.path.read_bytes()
    assert data.startswith(MAGIC + b"\x01")
    assert b'"alg":"argon2id"' in data
    assert b'"memory_kib":64' in data
    assert km.path.stat().st_mode & 0o777 == 0o600


def test_wrong_passphrase(km: LocalKeyManager) -> None:
    with pytest.raises(WrongPassphraseError, match="wrong passphrase, or the keyring file"):
        LocalKeyManager.open(km.path, b"not it", clock=ManualClock())


def test_a_flipped_payload_byte_reads_as_wrong_passphrase(
    km: LocalKeyManager, passphrase: bytes
) -> None:
    data = bytearray(km.path.read_bytes())
    data[-5] ^= 0x40
    km.path.write_bytes(bytes(data))
    with pytest.raises(WrongPassphraseError, match="altered"):
        LocalKeyManager.open(km.path, passphrase, clock=ManualClock())


def test_an_edited_salt_reads_as_wrong_passphrase(km: LocalKeyManager, passphrase: bytes) -> None:
    sealed = read_file(km.path)
    other = KeyringHeader(sealed.header.params, b"\x01" * 16).encode()
    km.path.write_bytes(_file(other, sealed.payload))
    with pytest.raises(WrongPassphraseError):
        LocalKeyManager.open(km.path, passphrase, clock=ManualClock())


@pytest.mark.parametrize("keep", [0, 5, PREFIX.size, PREFIX.size + 20, -1, -30])
def test_a_truncated_file_is_a_format_error(
    km: LocalKeyManager, keep: int, passphrase: bytes
) -> None:
    data = km.path.read_bytes()
    km.path.write_bytes(data[:keep])
    with pytest.raises(FormatError):
        LocalKeyManager.open(km.path, passphrase, clock=ManualClock())


def test_trailing_bytes_are_a_format_error(km: LocalKeyManager) -> None:
    km.path.write_bytes(km.path.read_bytes() + b"\x00")
    with pytest.raises(FormatError, match="trailing"):
        read_file(km.path)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"XXXX" + _file(_header())[4:], FormatError),
        (_file(_header(), version=2), UnknownVersionError),
        (PREFIX.pack(MAGIC, 1, 1025, 40) + b"x" * 1065, HeaderLimitError),
        (_file(_header(), payload=b"\x00" * 27), FormatError),
        (_file(b"\xff\xfe"), FormatError),
        (_file(b"[1, 2]"), FormatError),
        (_file(b'{"format":"something-else"}'), FormatError),
        (_file(_header().replace(b'"version":1', b'"version":2')), FormatError),
        (_file(_header()[:-1] + b',"extra":1}'), FormatError),
        (_file(_header().replace(b":", b": ")), FormatError),
        (_file(_header().replace(b'"kdf":{', b'"kdf":{"x":1,')), FormatError),
        (_file(_header(alg="scrypt")), UnknownVersionError),
        (_file(_header(memory_kib=100 << 20)), HeaderLimitError),
        (_file(_header(memory_kib=7)), HeaderLimitError),
        (_file(_header(iterations=0)), HeaderLimitError),
        (_file(_header(iterations=10**9)), HeaderLimitError),
        (_file(_header(lanes=0)), HeaderLimitError),
        (_file(_header(lanes=1000, memory_kib=8000)), HeaderLimitError),
        (_file(_header(lanes=True)), HeaderLimitError),
        (_file(_header(memory_kib=64.0)), HeaderLimitError),
        (_file(_header(salt=7)), HeaderLimitError),
        (_file(_header(salt="A" * 200)), HeaderLimitError),
        (_file(_header(salt="not base64!")), FormatError),
        (_file(_header(salt="AAAA")), HeaderLimitError),
    ],
)
def test_hostile_or_malformed_headers(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_file(data)


def test_hostile_params_are_refused_before_argon2_runs(
    keyring_path: Path, passphrase: bytes
) -> None:
    keyring_path.write_bytes(_file(_header(memory_kib=100 << 20)))
    with pytest.raises(HeaderLimitError, match="out of bounds"):
        derive_key(keyring_path, passphrase)


def test_an_oversized_file_is_refused(keyring_path: Path, passphrase: bytes) -> None:
    with keyring_path.open("wb") as handle:
        handle.truncate(limits.MAX_KEYRING_FILE_BYTES + 1)
    with pytest.raises(LimitExceededError):
        LocalKeyManager.open(keyring_path, passphrase, clock=ManualClock())


def test_a_keyring_that_would_outgrow_the_limit_is_not_written(
    km: LocalKeyManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = km.path.read_bytes()
    monkeypatch.setattr(limits, "MAX_KEYRING_FILE_BYTES", len(before) + 10)
    with pytest.raises(LimitExceededError, match="would exceed"):
        km.create_ring("ring-1")
    assert km.path.read_bytes() == before


def test_a_missing_file_is_not_found(keyring_path: Path, passphrase: bytes) -> None:
    with pytest.raises(NotFoundError):
        LocalKeyManager.open(keyring_path, passphrase, clock=ManualClock())


def test_an_unreadable_path_is_a_key_manager_error(tmp_path: Path) -> None:
    with pytest.raises(KeyManagerError, match="could not read"):
        read_file(tmp_path)


@pytest.mark.parametrize(
    ("bad_passphrase", "error"),
    [(b"", UsageError), (b"x" * (limits.MAX_PASSPHRASE_BYTES + 1), LimitExceededError)],
)
def test_passphrase_limits(
    keyring_path: Path, bad_passphrase: bytes, error: type[Exception], cheap_kdf: KdfParams
) -> None:
    with pytest.raises(error):
        LocalKeyManager.create(keyring_path, bad_passphrase, params=cheap_kdf, clock=ManualClock())
    assert not keyring_path.exists()


def test_a_passphrase_of_the_maximum_length_works(keyring_path: Path, cheap_kdf: KdfParams) -> None:
    longest = b"p" * limits.MAX_PASSPHRASE_BYTES
    LocalKeyManager.create(keyring_path, longest, params=cheap_kdf, clock=ManualClock())
    LocalKeyManager.open(keyring_path, longest, clock=ManualClock())


@pytest.mark.parametrize(
    "params", [KdfParams(4, 1, 1), KdfParams(64, 0, 1), KdfParams(64, 1, 99), KdfParams(2 << 20)]
)
def test_create_refuses_out_of_bounds_params(
    keyring_path: Path, params: KdfParams, passphrase: bytes
) -> None:
    with pytest.raises(ConfigError):
        LocalKeyManager.create(keyring_path, passphrase, params=params, clock=ManualClock())


def test_create_never_overwrites(km: LocalKeyManager, cheap_kdf: KdfParams) -> None:
    before = km.path.read_bytes()
    with pytest.raises(ConflictError):
        LocalKeyManager.create(km.path, b"other", params=cheap_kdf, clock=ManualClock())
    assert km.path.read_bytes() == before


def test_create_in_a_missing_directory_fails_cleanly(
    tmp_path: Path, cheap_kdf: KdfParams, passphrase: bytes
) -> None:
    with pytest.raises(KeyManagerError, match="could not lock"):
        LocalKeyManager.create(
            tmp_path / "no" / "k.fk", passphrase, params=cheap_kdf, clock=ManualClock()
        )


def test_every_mutation_reseals_with_a_fresh_nonce(km: LocalKeyManager) -> None:
    before = read_file(km.path)
    km.create_ring("ring-1")
    after = read_file(km.path)
    assert after.header == before.header
    assert after.payload[:12] != before.payload[:12]


def test_destroy_removes_the_key_material_from_the_file(
    km: LocalKeyManager, passphrase: bytes
) -> None:
    ref = DomainKeyRef("ring-1", "doomed")
    km.create_ring("ring-1")
    km.create_domain_key(ref)
    sealed_key = (
        _payload.load(_plaintext(km.path, passphrase)).rings["ring-1"].domains["doomed"].sealed_key
    )
    assert sealed_key is not None
    km.destroy(ref)
    plaintext = _plaintext(km.path, passphrase)
    entry = _payload.load(plaintext).rings["ring-1"].domains["doomed"]
    assert entry.sealed_key is None
    assert entry.state is KeyState.DESTROYED
    assert entry.destroyed_at is not None
    assert sealed_key not in plaintext
    assert base64.b64encode(sealed_key) not in plaintext


def _rewrite_payload(path: Path, plaintext: bytes, passphrase: bytes) -> None:
    sealed = read_file(path)
    path.write_bytes(seal_file(sealed.header, derive_key(path, passphrase), plaintext))


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b'{"version":2,"rings":{}}',
        b'{"version":1}',
        b'{"version":1,"rings":{"r":{"keks":{},"domains":{}}}}',
        b'{"version":1,"rings":{"r":{"keks":{"1":{"key":"!!","created_at":"x"}},"domains":{}}}}',
        (
            b'{"version":1,"rings":{"r":{"keks":{"1":{"key":"AA==","created_at":"2026-01-01T00:00"}},'
            b'"domains":{}}}}'
        ),
    ],
)
def test_a_malformed_payload_is_a_format_error(
    km: LocalKeyManager, payload: bytes, passphrase: bytes
) -> None:
    _rewrite_payload(km.path, payload, passphrase)
    with pytest.raises(FormatError, match="payload is malformed"):
        km.describe("r")


def test_a_domain_key_that_does_not_open_is_an_integrity_error(
    km: LocalKeyManager, passphrase: bytes
) -> None:
    ref = DomainKeyRef("ring-1", "d")
    km.create_ring("ring-1")
    km.create_domain_key(ref)
    keyring = _payload.load(_plaintext(km.path, passphrase))
    keyring.rings["ring-1"].domains["d"].kek_version = 1
    keyring.rings["ring-1"].domains["d"].sealed_key = b"\x00" * 60
    _rewrite_payload(km.path, _payload.dump(keyring), passphrase)
    with pytest.raises(IntegrityError, match="does not open"):
        km.wrap(ref, b"k" * 32, RelayedContext(b"ctx"))


_WORKER = """
import sys
from pathlib import Path
from forgekeep.clock import SystemClock
from forgekeep.keys.local import LocalKeyManager
from forgekeep.keys.protocol import DomainKeyRef
km = LocalKeyManager.open(Path(sys.argv[1]), sys.argv[2].encode(), clock=SystemClock())
for i in range(int(sys.argv[4])):
    km.create_domain_key(DomainKeyRef("shared", f"{sys.argv[3]}-{i}"))
"""


def test_concurrent_mutations_from_two_processes_all_survive(
    km: LocalKeyManager, passphrase: bytes
) -> None:
    km.create_ring("shared")
    count = 25
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(km.path), passphrase.decode(), name, str(count)]
        )
        for name in ("a", "b")
    ]
    assert [worker.wait(timeout=60) for worker in workers] == [0, 0]
    domains = _payload.load(_plaintext(km.path, passphrase)).rings["shared"].domains
    assert sorted(domains) == sorted(f"{n}-{i}" for n in ("a", "b") for i in range(count))
