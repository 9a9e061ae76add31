"""The ``local:`` key manager: KEKs and domain keys in a passphrase-sealed keyring file.

This is the embedded default. It protects data at rest: a stolen disk or
backup yields nothing without the passphrase. It does not meet the split-mode
claim "the operator cannot read" (DESIGN §2): whoever runs it holds the keys.

Security rules:

* KEKs and domain keys never leave this object in the clear: not in return
  values, ``repr``, logs or error messages. Callers only see wrapped data keys.
* The object keeps the Argon2id-derived file key, never the passphrase. Every
  operation re-reads and re-authenticates the file; every mutation holds an
  exclusive ``flock`` on ``<keyring>.lock`` from read to atomic rewrite, so two
  processes never lose each other's updates.
* ``destroy`` removes the sealed domain key from the next file written and keeps
  a tombstone. Copies of the *old* file (backups, snapshots) still hold the key
  under the same passphrase; the destruction certificate must list them.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from forgekeep._durable import write_atomic
from forgekeep.clock import Clock, SystemClock
from forgekeep.errors import (
    ConfigError,
    ConflictError,
    FormatError,
    KeyManagerError,
    KeyringLockedError,
    KeyUnavailableError,
    NotFoundError,
    UsageError,
)
from forgekeep.keys import _payload
from forgekeep.keys._checks import check_context, check_data_key, check_name, check_ref
from forgekeep.keys._keyring_file import (
    DEFAULT_KDF,
    KdfParams,
    KeyringHeader,
    SealedFile,
    derive,
    open_payload,
    read_file,
    seal_file,
)
from forgekeep.keys._payload import DomainEntry, Kek, Keyring, Ring
from forgekeep.keys._seal import KEY_BYTES, random_key
from forgekeep.keys._wrapped import (
    open_domain_key,
    seal_domain_key,
    unwrap_data_key,
    wrap_data_key,
)
from forgekeep.keys.agent import AgentKeyManager, agent_status
from forgekeep.keys.protocol import (
    DestructionRecord,
    DomainKeyRef,
    KeyInfo,
    KeyManager,
    KeyState,
)

if TYPE_CHECKING:
    from forgekeep.crypto.context import WrapContext

__all__ = [
    "DEFAULT_KDF",
    "KdfParams",
    "LocalKeyManager",
    "derive_key",
    "keyring_path_from_uri",
    "open_local",
]

BACKEND = "local"


@contextlib.contextmanager
def _exclusive_lock(keyring: Path) -> Iterator[None]:
    """Hold ``flock(LOCK_EX)`` on the sibling ``<keyring>.lock`` file."""
    lock_path = keyring.with_name(keyring.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise KeyManagerError(f"could not lock the keyring file: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _ring(keyring: Keyring, name: str) -> Ring:
    ring = keyring.rings.get(name)
    if ring is None:
        raise NotFoundError(f"no key ring {name!r}", hint="create it with `forgekeep keys`")
    return ring


def _entry(keyring: Keyring, ref: DomainKeyRef) -> tuple[Ring, DomainEntry]:
    ring = _ring(keyring, ref.ring)
    entry = ring.domains.get(ref.domain)
    if entry is None:
        raise NotFoundError(f"no domain key {ref.domain!r} in key ring {ref.ring!r}")
    return ring, entry


def _kek(ring: Ring, ref: DomainKeyRef, version: int) -> bytes:
    """A KEK version of the ring; a payload naming a missing version is corrupt."""
    kek = ring.keks.get(version)
    if kek is None:
        raise FormatError(f"key ring {ref.ring} has no KEK version {version}")
    return kek.key


def _refuse_destroyed(ref: DomainKeyRef, entry: DomainEntry) -> None:
    if entry.state is KeyState.DESTROYED:
        raise KeyUnavailableError(f"domain key {ref.ring}/{ref.domain} was destroyed")


def _info(ref: DomainKeyRef, entry: DomainEntry) -> KeyInfo:
    return KeyInfo(ref.ring, ref.domain, entry.state, entry.kek_version, entry.created_at)


class LocalKeyManager:
    """A :class:`KeyManager` over one keyring file. Build it with a class method."""

    def __init__(self, path: Path, file_key: bytes, *, clock: Clock) -> None:
        self._path = path
        self._key = file_key
        self._clock = clock

    def __repr__(self) -> str:
        return f"LocalKeyManager(uri={self.uri!r})"

    @property
    def uri(self) -> str:
        return f"local:{self._path}"

    @property
    def path(self) -> Path:
        return self._path

    @classmethod
    def create(
        cls, path: Path, passphrase: bytes, *, params: KdfParams, clock: Clock
    ) -> LocalKeyManager:
        """Create a new, empty keyring file; an existing file is never overwritten."""
        path = Path(path).absolute()
        header = KeyringHeader.new(params)
        key = derive(header, passphrase)
        with _exclusive_lock(path):
            if path.exists():
                raise ConflictError(
                    f"a keyring file already exists at {path}", hint="open it, or choose a path"
                )
            write_atomic(path, seal_file(header, key, _payload.dump(Keyring())))
        return cls(path, key, clock=clock)

    @classmethod
    def open(cls, path: Path, passphrase: bytes, *, clock: Clock) -> LocalKeyManager:
        """Open a keyring file with its passphrase (runs Argon2id once)."""
        return cls.open_with_key(path, derive_key(path, passphrase), clock=clock)

    @classmethod
    def open_with_key(cls, path: Path, derived_key: bytes, *, clock: Clock) -> LocalKeyManager:
        """Open a keyring file with a key from :func:`derive_key` (the agent does this)."""
        if len(derived_key) != KEY_BYTES:
            raise UsageError(f"a derived keyring key is {KEY_BYTES} bytes")
        manager = cls(Path(path).absolute(), derived_key, clock=clock)
        manager._read()
        return manager

    def _open(self, sealed: SealedFile) -> Keyring:
        return _payload.load(open_payload(sealed, self._key))

    def _read(self) -> Keyring:
        return self._open(read_file(self._path))

    @contextlib.contextmanager
    def _mutation(self) -> Iterator[Keyring]:
        """Lock, read, yield the payload to change, then re-seal it atomically."""
        with _exclusive_lock(self._path):
            sealed = read_file(self._path)
            keyring = self._open(sealed)
            yield keyring
            data = seal_file(sealed.header, self._key, _payload.dump(keyring))
            write_atomic(self._path, data)

    def create_ring(self, ring: str) -> KeyInfo:
        check_name("key ring", ring)
        now = self._clock.now()
        with self._mutation() as keyring:
            if ring in keyring.rings:
                raise ConflictError(f"key ring {ring!r} already exists")
            keyring.rings[ring] = Ring(keks={1: Kek(random_key(), now)})
        return KeyInfo(ring, None, KeyState.ACTIVE, 1, now)

    def create_domain_key(self, ref: DomainKeyRef) -> KeyInfo:
        check_ref(ref)
        now = self._clock.now()
        with self._mutation() as keyring:
            ring = _ring(keyring, ref.ring)
            if ref.domain in ring.domains:
                raise ConflictError(f"domain key {ref.ring}/{ref.domain} already exists")
            version = ring.current
            sealed = seal_domain_key(ring.keks[version].key, ref, version, random_key())
            entry = DomainEntry(KeyState.ACTIVE, now, version, sealed)
            ring.domains[ref.domain] = entry
        return _info(ref, entry)

    def _domain_key(self, ref: DomainKeyRef) -> bytes:
        ring, entry = _entry(self._read(), ref)
        _refuse_destroyed(ref, entry)
        if entry.state is not KeyState.ACTIVE or entry.sealed_key is None:
            raise KeyUnavailableError(f"domain key {ref.ring}/{ref.domain} is disabled")
        return open_domain_key(
            _kek(ring, ref, entry.kek_version), ref, entry.kek_version, entry.sealed_key
        )

    def wrap(self, ref: DomainKeyRef, data_key: bytes, context: WrapContext) -> bytes:
        check_ref(ref)
        encoded = check_context(context)
        check_data_key(data_key)
        return wrap_data_key(self._domain_key(ref), ref, data_key, encoded)

    def unwrap(self, ref: DomainKeyRef, wrapped: bytes, context: WrapContext) -> bytes:
        check_ref(ref)
        encoded = check_context(context)
        return unwrap_data_key(self._domain_key(ref), ref, wrapped, encoded)

    def rotate(self, ring: str) -> KeyInfo:
        check_name("key ring", ring)
        now = self._clock.now()
        with self._mutation() as keyring:
            entry = _ring(keyring, ring)
            version = entry.current + 1
            entry.keks[version] = Kek(random_key(), now)
        return KeyInfo(ring, None, KeyState.ACTIVE, version, now)

    def rewrap(self, ring: str) -> int:
        check_name("key ring", ring)
        count = 0
        with self._mutation() as keyring:
            entry = _ring(keyring, ring)
            current = entry.current
            for domain, item in entry.domains.items():
                if item.sealed_key is None:
                    continue
                ref = DomainKeyRef(ring, domain)
                old = _kek(entry, ref, item.kek_version)
                key = open_domain_key(old, ref, item.kek_version, item.sealed_key)
                item.sealed_key = seal_domain_key(_kek(entry, ref, current), ref, current, key)
                item.kek_version = current
                count += 1
        return count

    def _set_state(self, ref: DomainKeyRef, state: KeyState) -> KeyInfo:
        check_ref(ref)
        with self._mutation() as keyring:
            _, entry = _entry(keyring, ref)
            _refuse_destroyed(ref, entry)
            entry.state = state
        return _info(ref, entry)

    def disable(self, ref: DomainKeyRef) -> KeyInfo:
        return self._set_state(ref, KeyState.DISABLED)

    def enable(self, ref: DomainKeyRef) -> KeyInfo:
        return self._set_state(ref, KeyState.ACTIVE)

    def destroy(self, ref: DomainKeyRef) -> DestructionRecord:
        check_ref(ref)
        now = self._clock.now()
        with self._mutation() as keyring:
            _, entry = _entry(keyring, ref)
            _refuse_destroyed(ref, entry)
            entry.state = KeyState.DESTROYED
            entry.sealed_key = None
            entry.destroyed_at = now
        return DestructionRecord(ref.ring, ref.domain, now, BACKEND)

    def describe(self, ring: str, domain: str | None = None) -> KeyInfo:
        """A ring's ``created_at`` is that of its current KEK version."""
        check_name("key ring", ring)
        keyring = self._read()
        if domain is None:
            entry = _ring(keyring, ring)
            kek = entry.keks[entry.current]
            return KeyInfo(ring, None, KeyState.ACTIVE, entry.current, kek.created_at)
        ref = check_ref(DomainKeyRef(ring, domain))
        return _info(ref, _entry(keyring, ref)[1])


def derive_key(path: Path, passphrase: bytes) -> bytes:
    """Run Argon2id for a keyring file with the parameters in its header.

    The result opens the file (:meth:`LocalKeyManager.open_with_key`); it is
    what ``forgekeep unlock`` hands to the agent instead of the passphrase.
    """
    return derive(read_file(Path(path)).header, passphrase)


def keyring_path_from_uri(uri: str, base_dir: Path | None = None) -> Path:
    """``local:/abs/keyring.fk`` or ``local:relative.fk`` (relative to ``base_dir``)."""
    scheme, _, rest = uri.partition(":")
    if scheme.lower() != BACKEND or not rest or rest.startswith("//") or "\x00" in rest:
        raise ConfigError(
            f"not a local key manager URI: {uri!r}",
            hint="write local:/absolute/path/keyring.fk or local:relative/keyring.fk",
        )
    path = Path(rest)
    if path.is_absolute():
        return path
    if base_dir is None:
        raise ConfigError(f"the relative URI {uri!r} needs a base directory")
    return (Path(base_dir) / path).absolute()


def open_local(
    uri: str,
    *,
    base_dir: Path | None = None,
    passphrase: bytes | None = None,
    clock: Clock | None = None,
    **unknown: object,
) -> KeyManager:
    """Registry factory for ``local:``.

    With a passphrase, open the file directly. Without one, use the unlock agent
    for this keyring; when none runs, raise :class:`KeyringLockedError`.
    """
    if unknown:
        raise ConfigError(f"unknown options for the local key manager: {sorted(unknown)}")
    path = keyring_path_from_uri(uri, base_dir)
    if passphrase is not None:
        return LocalKeyManager.open(path, passphrase, clock=clock or SystemClock())
    if agent_status(path) is None:
        raise KeyringLockedError(f"the keyring {path} is locked")
    return AgentKeyManager(path)


def inspect_keyring(path: Path) -> KdfParams:
    """Parse a keyring file's clear header without any key; returns its KDF parameters.

    Raises the same format errors as opening it would, so ``doctor`` can report a
    damaged keyring without asking for the passphrase.
    """
    return read_file(Path(path)).header.params
