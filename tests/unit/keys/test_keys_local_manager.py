"""LocalKeyManager behaviour beyond the conformance battery: limits, repr, clock, agent use."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from forgekeep.clock import ManualClock
from forgekeep.crypto.context import RelayedContext
from forgekeep.errors import FormatError, LimitExceededError, UnwrapError, UsageError
from forgekeep.keys import _payload, _seal
from forgekeep.keys._checks import MAX_DATA_KEY_BYTES
from forgekeep.keys._keyring_file import open_payload, read_file, seal_file
from forgekeep.keys.agent import AgentKeyManager
from forgekeep.keys.local import KdfParams, LocalKeyManager, derive_key, open_local
from forgekeep.keys.protocol import DomainKeyRef, KeyManager, KeyState

REF = DomainKeyRef("ring-1", "d1")

CTX = RelayedContext(b"ctx")


@pytest.fixture
def ready(km: LocalKeyManager) -> LocalKeyManager:
    km.create_ring(REF.ring)
    km.create_domain_key(REF)
    return km


def test_it_is_a_key_manager_with_a_secret_free_repr(ready: LocalKeyManager) -> None:
    assert isinstance(ready, KeyManager)
    assert repr(ready) == f"LocalKeyManager(uri='local:{ready.path}')"
    assert ready.uri == f"local:{ready.path}"


def test_open_with_key_checks_the_key(ready: LocalKeyManager, passphrase: bytes) -> None:
    with pytest.raises(UsageError, match="32 bytes"):
        LocalKeyManager.open_with_key(ready.path, b"short", clock=ManualClock())
    key = derive_key(ready.path, passphrase)
    reopened = LocalKeyManager.open_with_key(ready.path, key, clock=ManualClock())
    assert reopened.describe(REF.ring, REF.domain).state is KeyState.ACTIVE


def test_times_come_from_the_clock(ready: LocalKeyManager, clock: ManualClock) -> None:
    created = clock.now()
    clock.advance(dt.timedelta(days=30))
    assert ready.describe(REF.ring, REF.domain).created_at == created
    assert ready.rotate(REF.ring).created_at == clock.now()
    assert ready.describe(REF.ring).created_at == clock.now()
    clock.advance(dt.timedelta(days=1))
    assert ready.destroy(REF).destroyed_at == clock.now()


def test_data_key_size_limits(ready: LocalKeyManager) -> None:
    biggest = b"k" * MAX_DATA_KEY_BYTES
    assert ready.unwrap(REF, ready.wrap(REF, biggest, CTX), CTX) == biggest
    with pytest.raises(LimitExceededError):
        ready.wrap(REF, biggest + b"k", CTX)


def test_an_unknown_wrap_version_is_refused(ready: LocalKeyManager) -> None:
    wrapped = ready.wrap(REF, b"k" * 32, CTX)
    with pytest.raises(UnwrapError, match="version 2"):
        ready.unwrap(REF, b"\x02" + wrapped[1:], CTX)


def test_enable_and_disable_are_idempotent(ready: LocalKeyManager) -> None:
    assert ready.enable(REF).state is KeyState.ACTIVE
    ready.disable(REF)
    assert ready.disable(REF).state is KeyState.DISABLED


def test_aead_unwrap_refuses_short_input() -> None:
    with pytest.raises(UnwrapError, match="too short"):
        _seal.aead_unwrap(_seal.random_key(), b"x" * (_seal.OVERHEAD - 1), b"")


def test_open_local_uses_a_running_agent(agent_km: AgentKeyManager, ready: LocalKeyManager) -> None:
    via_agent = open_local(ready.uri)
    assert isinstance(via_agent, AgentKeyManager)
    assert via_agent.describe(REF.ring, REF.domain).state is KeyState.ACTIVE


def test_open_local_with_passphrase_defaults_to_the_system_clock(
    ready: LocalKeyManager, passphrase: bytes
) -> None:
    opened = open_local(
        f"local:{ready.path.name}", base_dir=ready.path.parent, passphrase=passphrase
    )
    before = dt.datetime.now(dt.UTC)
    assert opened.rotate(REF.ring).created_at >= before


def test_relative_base_dir_is_made_absolute(
    ready: LocalKeyManager,
    monkeypatch: pytest.MonkeyPatch,
    passphrase: bytes,
) -> None:
    monkeypatch.chdir(ready.path.parent.parent)
    opened = open_local(
        "local:keyring.fk", base_dir=Path(ready.path.parent.name), passphrase=passphrase
    )
    assert opened.uri == ready.uri


def test_a_payload_naming_a_missing_kek_version_is_a_format_error(tmp_path: Path) -> None:
    path = tmp_path / "k.fk"
    km = LocalKeyManager.create(path, b"pw", params=KdfParams(64, 1, 1), clock=ManualClock())
    km.create_ring("r")
    km.create_domain_key(DomainKeyRef("r", "d"))
    file_key = derive_key(path, b"pw")
    sealed = read_file(path)
    keyring = _payload.load(open_payload(sealed, file_key))
    keyring.rings["r"].domains["d"].kek_version = 9
    path.write_bytes(seal_file(sealed.header, file_key, _payload.dump(keyring)))
    with pytest.raises(FormatError):
        km.wrap(DomainKeyRef("r", "d"), b"k" * 32, CTX)
