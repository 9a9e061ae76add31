"""The key-manager registry: a URI scheme picks a backend factory.

``open_key_manager("local:/srv/fk/keyring.fk", passphrase=...)`` finds the
factory for ``local`` and calls it with the URI and the options. Factories are
named by dotted path (``"package.module:function"``) and imported only when
their scheme is first used, so importing this module pulls in no backend, and
an optional backend's SDK is loaded only by those who use it.

Security rule: fail closed. An unknown scheme, a backend that cannot be
loaded, or a factory that returns something other than a KeyManager is a
:class:`ConfigError`; there is no default backend to fall back to. Error
messages name the scheme, never the rest of the URI (which may carry a
server address or a path someone considers private).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

from forgekeep.errors import ConfigError, ConflictError
from forgekeep.keys.protocol import KeyManager

__all__ = ["KeyManagerFactory", "known_schemes", "open_key_manager", "register_key_manager"]

KeyManagerFactory = Callable[..., KeyManager]

_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*\Z")
_FACTORIES: dict[str, KeyManagerFactory | str] = {
    "local": "forgekeep.keys.local:open_local",
}


def _check_scheme(scheme: str) -> str:
    if not _SCHEME.match(scheme):
        raise ConfigError(
            f"invalid key manager scheme {scheme[:40]!r}",
            hint="a scheme is a lower-case letter followed by letters, digits, '+', '-' or '.'",
        )
    return scheme


def register_key_manager(
    scheme: str, factory: KeyManagerFactory | str, *, replace: bool = False
) -> None:
    """Register a factory (or a ``"module:function"`` path) for a URI scheme.

    The factory is called as ``factory(uri, **options)``. Registering a scheme
    twice is a :class:`ConflictError` unless ``replace=True``.
    """
    _check_scheme(scheme)
    if scheme in _FACTORIES and not replace:
        raise ConflictError(f"a key manager is already registered for {scheme!r}")
    _FACTORIES[scheme] = factory


def known_schemes() -> list[str]:
    """The registered schemes, sorted."""
    return sorted(_FACTORIES)


def _load(scheme: str, target: str) -> KeyManagerFactory:
    module_name, _, attribute = target.partition(":")
    try:
        factory: Any = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError):
        raise ConfigError(
            f"the {scheme!r} key manager could not be loaded",
            hint=f"install the extra that provides {module_name}",
        ) from None
    if not callable(factory):
        raise ConfigError(f"the {scheme!r} key manager factory is not callable")
    return factory  # type: ignore[no-any-return]


def open_key_manager(uri: str, **options: Any) -> KeyManager:
    """Open the key manager a URI names; options go to the scheme's factory."""
    scheme, colon, _ = uri.partition(":")
    scheme = scheme.lower()
    entry = _FACTORIES.get(scheme) if colon else None
    if entry is None:
        raise ConfigError(
            f"unknown key manager scheme {scheme[:40]!r}",
            hint=f"known schemes: {', '.join(known_schemes())} (write scheme:location)",
        )
    factory = _load(scheme, entry) if isinstance(entry, str) else entry
    manager = factory(uri, **options)
    if not isinstance(manager, KeyManager):
        raise ConfigError(f"the {scheme!r} key manager factory returned no KeyManager")
    return manager
