"""Opening a blob store from its URI: one table from scheme to factory.

Security rules:

* A URI never carries credentials. ``user:pass@`` in a store URI is refused
  (and never echoed back); credentials are named per site in configuration.
* Unknown schemes fail with :class:`ConfigError`; there is no fallback backend.
* Backends are named by dotted path and imported only when a store of their
  scheme is opened, so importing this module imports no backend (and no
  optional SDK). Only ``forgekeep.service.wiring`` imports backends directly.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import MappingProxyType
from typing import Final, Protocol, cast
from urllib.parse import SplitResult, urlsplit

from forgekeep.errors import ConfigError
from forgekeep.storage.protocol import BlobStore


class BlobStoreFactory(Protocol):
    """What a backend module exposes for the registry to call."""

    def __call__(
        self, uri: str, *, base_dir: Path | None = None, **options: object
    ) -> BlobStore: ...


#: Scheme -> ``module:factory``. Imported lazily; add ``s3`` here when it lands.
_BACKENDS: Final = MappingProxyType(
    {
        "file": "forgekeep.storage.file:open_file_store",
    }
)


def known_schemes() -> list[str]:
    """The URI schemes a blob store can be opened with."""
    return sorted(_BACKENDS)


def _split(uri: str) -> SplitResult:
    if not isinstance(uri, str) or ":" not in uri:
        raise ConfigError(
            "a blob store URI looks like SCHEME:LOCATION",
            hint=f"known schemes: {', '.join(known_schemes())}",
        )
    try:
        return urlsplit(uri)
    except ValueError as exc:  # e.g. a malformed IPv6 host
        raise ConfigError("the blob store URI cannot be parsed") from exc


def check_store_uri(uri: str) -> str:
    """Return the scheme of ``uri`` when a store could be opened from it.

    Refuses credentials in the URI and unknown schemes with ConfigError.
    """
    parts = _split(uri)
    if "@" in parts.netloc:
        raise ConfigError(
            "a blob store URI may not carry credentials",
            hint='name the credentials per site (credentials = "env:NAME"); see docs/operations.md',
        )
    if parts.scheme not in _BACKENDS:
        raise ConfigError(
            f"unknown blob store scheme {parts.scheme!r}",
            hint=f"known schemes: {', '.join(known_schemes())}",
        )
    return parts.scheme


def _load_factory(scheme: str) -> BlobStoreFactory:
    module_name, _, attribute = _BACKENDS[scheme].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"the {scheme}: blob store backend is not installed",
            hint=f"install the extra: pip install 'forgekeep[{scheme}]'",
        ) from exc
    return cast("BlobStoreFactory", getattr(module, attribute))


def open_blob_store(uri: str, *, base_dir: Path | None = None, **options: object) -> BlobStore:
    """Open the blob store named by ``uri``.

    ``file:sites/local-de`` is relative to ``base_dir`` (the workspace);
    ``file:///abs/path`` is absolute. Backend-specific ``options`` are passed
    to the backend's factory, which refuses any it does not know.
    """
    return _load_factory(check_store_uri(uri))(uri, base_dir=base_dir, **options)
