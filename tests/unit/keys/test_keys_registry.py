"""The key-manager registry: schemes, lazy loading, fail-closed errors, the local: factory."""

from __future__ import annotations

import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import forgekeep.keys
from forgekeep.clock import ManualClock
from forgekeep.errors import ConfigError, ConflictError, KeyringLockedError
from forgekeep.keys import registry
from forgekeep.keys.local import LocalKeyManager, keyring_path_from_uri
from forgekeep.keys.protocol import KeyManager


@pytest.fixture(autouse=True)
def _restore_registry() -> Iterator[None]:
    saved = dict(registry._FACTORIES)
    yield
    registry._FACTORIES.clear()
    registry._FACTORIES.update(saved)


def test_public_names_are_exactly_all() -> None:
    public = {
        name
        for name, value in vars(forgekeep.keys).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert set(forgekeep.keys.__all__) == public


def test_importing_the_registry_loads_no_backend() -> None:
    code = "import forgekeep.keys, sys; print('forgekeep.keys.local' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    assert result.stdout.strip() == b"False"


def test_unknown_scheme_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        registry.open_key_manager("vault://secret-host/path")
    assert "local" in caught.value.hint
    assert "secret-host" not in caught.value.message


def test_a_uri_without_scheme_is_refused() -> None:
    with pytest.raises(ConfigError):
        registry.open_key_manager("/just/a/path")


def test_register_and_open_a_factory(km: LocalKeyManager) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []

    def factory(uri: str, **options: Any) -> KeyManager:
        seen.append((uri, options))
        return km

    registry.register_key_manager("test+fake", factory)
    assert registry.open_key_manager("TEST+FAKE:x", flag=1) is km
    assert seen == [("TEST+FAKE:x", {"flag": 1})]
    assert "test+fake" in registry.known_schemes()


def test_registering_twice_conflicts_unless_replacing(km: LocalKeyManager) -> None:
    registry.register_key_manager("twice", lambda _uri: km)
    with pytest.raises(ConflictError):
        registry.register_key_manager("twice", lambda _uri: km)
    registry.register_key_manager("twice", "forgekeep.keys.local:open_local", replace=True)


@pytest.mark.parametrize("scheme", ["", "1abc", "Upper", "has space", "a/b"])
def test_invalid_schemes_are_refused(scheme: str) -> None:
    with pytest.raises(ConfigError):
        registry.register_key_manager(scheme, "x:y")


@pytest.mark.parametrize(
    "target", ["forgekeep.no_such_module:f", "forgekeep.keys.local:no_such_factory"]
)
def test_an_unloadable_backend_is_a_config_error(target: str) -> None:
    registry.register_key_manager("broken", target)
    with pytest.raises(ConfigError, match="could not be loaded"):
        registry.open_key_manager("broken:x")


def test_a_factory_that_is_not_callable_is_refused() -> None:
    registry.register_key_manager("notcallable", "forgekeep.keys.local:BACKEND")
    with pytest.raises(ConfigError, match="not callable"):
        registry.open_key_manager("notcallable:x")


def test_a_factory_must_return_a_key_manager() -> None:
    registry.register_key_manager("wrongtype", lambda _uri: object())
    with pytest.raises(ConfigError, match="no KeyManager"):
        registry.open_key_manager("wrongtype:x")


def test_local_uri_with_passphrase_opens_the_file(km: LocalKeyManager, passphrase: bytes) -> None:
    opened = registry.open_key_manager(km.uri, passphrase=passphrase, clock=ManualClock())
    assert isinstance(opened, LocalKeyManager)
    assert opened.uri == km.uri


def test_local_relative_uri_uses_base_dir(km: LocalKeyManager, passphrase: bytes) -> None:
    opened = registry.open_key_manager(
        "local:keyring.fk", base_dir=km.path.parent, passphrase=passphrase
    )
    assert opened.uri == km.uri


def test_local_without_passphrase_or_agent_is_locked(
    km: LocalKeyManager, runtime_dir: Path
) -> None:
    with pytest.raises(KeyringLockedError):
        registry.open_key_manager(km.uri)


def test_local_rejects_unknown_options(km: LocalKeyManager, passphrase: bytes) -> None:
    with pytest.raises(ConfigError, match="unknown options"):
        registry.open_key_manager(km.uri, passphrase=passphrase, pasphrase=b"typo")


@pytest.mark.parametrize("uri", ["local:", "local://host/x", "file:/x", "local:/a\x00b"])
def test_bad_local_uris(uri: str) -> None:
    with pytest.raises(ConfigError):
        keyring_path_from_uri(uri, Path("/base"))


def test_relative_local_uri_needs_a_base() -> None:
    with pytest.raises(ConfigError, match="base directory"):
        keyring_path_from_uri("local:keyring.fk")
    assert keyring_path_from_uri("local:k.fk", Path("/b")) == Path("/b/k.fk")
    assert keyring_path_from_uri("local:/abs/k.fk") == Path("/abs/k.fk")
