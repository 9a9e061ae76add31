"""The KeyManager conformance battery: every key backend must pass it.

``exercise_key_manager(km, ring_prefix=...)`` drives a live backend through the
rules of ``forgekeep.keys.protocol``: rings and domain keys, context binding,
tamper and size refusals, rotation and rewrap, disable/enable, destroy, and
that ``describe`` and ``repr`` never show key bytes. It creates rings named
``<ring_prefix>-…`` so runs against a shared backend do not collide.

Security rule: the checks raise :class:`AssertionError` explicitly, never with
``assert``, because this ships in the package and ``python -O`` strips
asserts. Any exception that is not a :class:`ForgekeepError` escaping the
backend fails the battery.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import secrets
from collections.abc import Callable
from functools import partial
from typing import Final

from forgekeep import limits
from forgekeep.crypto.context import (
    RelayedContext,
    WrapContext,
    asset_version_context,
    ledger_seed_context,
    subject_attributes_context,
)
from forgekeep.errors import (
    ConflictError,
    ForgekeepError,
    InvalidNameError,
    KeyUnavailableError,
    LimitExceededError,
    NotFoundError,
    UnwrapError,
    UsageError,
)
from forgekeep.keys.protocol import DomainKeyRef, KeyInfo, KeyManager, KeyState

__all__ = ["exercise_key_manager"]

CONTEXT: Final = asset_version_context(
    tenant="t1", key_ring="conformance", domain="d1", asset_id="a1", version_id=bytes(16), suite=1
)
#: Contexts that differ from :data:`CONTEXT` by a byte, or by purpose only.
WRONG_CONTEXTS: Final[tuple[WrapContext, ...]] = (
    RelayedContext(CONTEXT.encoded + b"x"),
    RelayedContext(CONTEXT.encoded[:-1]),
    RelayedContext(b"other"),
    RelayedContext(CONTEXT.encoded.upper()),
    ledger_seed_context(tenant="t1", key_ring="conformance", domain="d1"),
    subject_attributes_context(tenant="t1", pseudonym="a1"),
)


def _fail(message: str) -> AssertionError:
    return AssertionError(f"key manager conformance: {message}")


def _check(condition: bool, message: str) -> None:  # noqa: FBT001 - reads as an assertion
    if not condition:
        raise _fail(message)


def _raises(expected: type[ForgekeepError], call: Callable[[], object], what: str) -> None:
    """``call`` must raise ``expected``; anything else (or nothing) fails."""
    try:
        call()
    except expected:
        return
    except ForgekeepError as exc:
        message = f"{what}: expected {expected.__name__}, got {type(exc).__name__}"
        raise _fail(message) from exc
    except Exception as exc:
        raise _fail(f"{what}: a non-Forgekeep error escaped: {type(exc).__name__}") from exc
    raise _fail(f"{what}: expected {expected.__name__}, nothing was raised")


def _check_info(info: KeyInfo, ring: str, domain: str | None, state: KeyState, kek: int) -> None:
    _check(type(info) is KeyInfo, f"{ring}/{domain}: describe must return a plain KeyInfo")
    got = (info.ring, info.domain, info.state, info.kek_version)
    want = (ring, domain, state, kek)
    _check(got == want, f"{ring}/{domain}: expected {want}, got {got}")
    aware = isinstance(info.created_at, dt.datetime) and info.created_at.tzinfo is not None
    _check(aware, f"{ring}/{domain}: created_at must be an aware datetime")
    for field in dataclasses.fields(info):
        value = getattr(info, field.name)
        _check(not isinstance(value, bytes | bytearray), f"KeyInfo.{field.name} holds bytes")


def _new_domain(km: KeyManager, ring: str, domain: str) -> DomainKeyRef:
    ref = DomainKeyRef(ring, domain)
    current = km.describe(ring).kek_version
    _check_info(km.create_domain_key(ref), ring, domain, KeyState.ACTIVE, current)
    return ref


def _check_rings(km: KeyManager, prefix: str) -> None:
    ring = f"{prefix}-rings"
    _check_info(km.create_ring(ring), ring, None, KeyState.ACTIVE, 1)
    _check_info(km.describe(ring), ring, None, KeyState.ACTIVE, 1)
    _raises(ConflictError, lambda: km.create_ring(ring), "creating an existing ring")
    _raises(NotFoundError, lambda: km.describe(f"{prefix}-missing"), "describing a missing ring")
    _raises(NotFoundError, lambda: km.rotate(f"{prefix}-missing"), "rotating a missing ring")
    _raises(NotFoundError, lambda: km.rewrap(f"{prefix}-missing"), "rewrapping a missing ring")
    for bad in ("", "a/b", "../x", ".hidden", "x" * 300, "nul\x00"):
        _raises(InvalidNameError, partial(km.create_ring, bad), f"ring name {bad[:8]!r}")
    _raises(InvalidNameError, lambda: km.describe(ring, "a/b"), "an invalid domain name")


def _check_domains(km: KeyManager, prefix: str) -> None:
    ring = f"{prefix}-domains"
    km.create_ring(ring)
    ref = _new_domain(km, ring, "project-1")
    _check_info(km.describe(ring, "project-1"), ring, "project-1", KeyState.ACTIVE, 1)
    _raises(ConflictError, lambda: km.create_domain_key(ref), "creating an existing domain key")
    missing_ring = DomainKeyRef(f"{prefix}-missing", "project-1")
    _raises(NotFoundError, lambda: km.create_domain_key(missing_ring), "domain in a missing ring")
    _raises(NotFoundError, lambda: km.describe(ring, "nope"), "describing a missing domain")
    missing = DomainKeyRef(ring, "nope")
    _raises(NotFoundError, lambda: km.wrap(missing, b"k" * 32, CONTEXT), "wrap, missing domain")
    _raises(NotFoundError, lambda: km.disable(missing), "disabling a missing domain")


def _check_round_trip(km: KeyManager, prefix: str) -> None:
    ring = f"{prefix}-wrap"
    km.create_ring(ring)
    ref = _new_domain(km, ring, "d1")
    data_key = secrets.token_bytes(32)
    wrapped = km.wrap(ref, data_key, CONTEXT)
    _check(isinstance(wrapped, bytes), "wrap must return bytes")
    _check(len(wrapped) <= limits.MAX_WRAPPED_KEY_BYTES, "a wrap exceeds MAX_WRAPPED_KEY_BYTES")
    _check(data_key not in wrapped, "the wrapped key contains the data key in the clear")
    _check(km.unwrap(ref, wrapped, CONTEXT) == data_key, "unwrap did not return the data key")
    _check(km.unwrap(ref, km.wrap(ref, b"\x00", CONTEXT), CONTEXT) == b"\x00", "1-byte key")
    _raises(UsageError, lambda: km.wrap(ref, data_key, RelayedContext(b"")), "an empty context")
    _raises(UsageError, lambda: km.wrap(ref, b"", CONTEXT), "wrap of an empty data key")
    big = RelayedContext(b"c" * (limits.MAX_CONTEXT_BYTES + 1))
    _raises(LimitExceededError, lambda: km.wrap(ref, data_key, big), "an oversized context")
    _raises(LimitExceededError, lambda: km.unwrap(ref, wrapped, big), "unwrap, oversized context")


def _check_binding(km: KeyManager, prefix: str) -> None:
    ring, other_ring = f"{prefix}-bind", f"{prefix}-bind-other"
    km.create_ring(ring)
    km.create_ring(other_ring)
    ref, sibling = _new_domain(km, ring, "d1"), _new_domain(km, ring, "d2")
    twin = _new_domain(km, other_ring, "d1")
    wrapped = km.wrap(ref, secrets.token_bytes(32), CONTEXT)
    for context in WRONG_CONTEXTS:
        _raises(UnwrapError, partial(km.unwrap, ref, wrapped, context), "a wrong context")
    _raises(UnwrapError, lambda: km.unwrap(sibling, wrapped, CONTEXT), "another domain")
    _raises(UnwrapError, lambda: km.unwrap(twin, wrapped, CONTEXT), "same domain, other ring")


def _check_tamper(km: KeyManager, prefix: str) -> None:
    ring = f"{prefix}-tamper"
    km.create_ring(ring)
    ref = _new_domain(km, ring, "d1")
    wrapped = km.wrap(ref, secrets.token_bytes(32), CONTEXT)
    for index in range(len(wrapped)):
        altered = bytearray(wrapped)
        altered[index] ^= 0x01
        _raises(UnwrapError, partial(km.unwrap, ref, bytes(altered), CONTEXT), f"byte {index}")
    for cut in (wrapped[:-1], wrapped[:1], b"", wrapped + b"\x00"):
        _raises(UnwrapError, partial(km.unwrap, ref, cut, CONTEXT), f"{len(cut)} bytes")
    huge = wrapped + b"\x00" * (limits.MAX_WRAPPED_KEY_BYTES + 1 - len(wrapped))
    _raises(LimitExceededError, lambda: km.unwrap(ref, huge, CONTEXT), "an oversized wrap")


def _check_rotation(km: KeyManager, prefix: str) -> None:
    ring = f"{prefix}-rotate"
    km.create_ring(ring)
    old = _new_domain(km, ring, "d-old")
    data_key = secrets.token_bytes(32)
    wrapped = km.wrap(old, data_key, CONTEXT)
    _check_info(km.rotate(ring), ring, None, KeyState.ACTIVE, 2)
    _check_info(km.describe(ring), ring, None, KeyState.ACTIVE, 2)
    new = _new_domain(km, ring, "d-new")
    _check_info(km.describe(ring, "d-new"), ring, "d-new", KeyState.ACTIVE, 2)
    _check_info(km.describe(ring, "d-old"), ring, "d-old", KeyState.ACTIVE, 1)
    _check(km.unwrap(old, wrapped, CONTEXT) == data_key, "a wrap made before rotate must open")
    _check(km.rewrap(ring) == 2, "rewrap must count every live domain key of the ring")
    _check_info(km.describe(ring, "d-old"), ring, "d-old", KeyState.ACTIVE, 2)
    _check(km.unwrap(old, wrapped, CONTEXT) == data_key, "a wrap made before rewrap must open")
    fresh = km.wrap(new, data_key, CONTEXT)
    _check(km.unwrap(new, fresh, CONTEXT) == data_key, "a domain key made after rotate")


def _check_disable(km: KeyManager, prefix: str) -> None:
    ring = f"{prefix}-disable"
    km.create_ring(ring)
    ref = _new_domain(km, ring, "d1")
    data_key = secrets.token_bytes(32)
    wrapped = km.wrap(ref, data_key, CONTEXT)
    _check_info(km.disable(ref), ring, "d1", KeyState.DISABLED, 1)
    _check_info(km.describe(ring, "d1"), ring, "d1", KeyState.DISABLED, 1)
    _raises(KeyUnavailableError, lambda: km.wrap(ref, data_key, CONTEXT), "wrap while disabled")
    _raises(KeyUnavailableError, lambda: km.unwrap(ref, wrapped, CONTEXT), "unwrap, disabled")
    _check_info(km.enable(ref), ring, "d1", KeyState.ACTIVE, 1)
    _check(km.unwrap(ref, wrapped, CONTEXT) == data_key, "enable must restore unwrap")


def _check_destroy(km: KeyManager, prefix: str) -> None:
    ring = f"{prefix}-destroy"
    km.create_ring(ring)
    ref, survivor = _new_domain(km, ring, "d1"), _new_domain(km, ring, "d2")
    active = _new_domain(km, ring, "d3")
    data_key = secrets.token_bytes(32)
    wrapped = km.wrap(ref, data_key, CONTEXT)
    km.destroy(active)
    _check_info(km.describe(ring, "d3"), ring, "d3", KeyState.DESTROYED, 1)
    km.disable(ref)
    record = km.destroy(ref)
    _check((record.ring, record.domain) == (ring, "d1"), "the destruction record names the key")
    _check(record.destroyed_at.tzinfo is not None and bool(record.backend), "destruction record")
    _check_info(km.describe(ring, "d1"), ring, "d1", KeyState.DESTROYED, 1)
    for name, call in (
        ("unwrap", lambda: km.unwrap(ref, wrapped, CONTEXT)),
        ("wrap", lambda: km.wrap(ref, data_key, CONTEXT)),
        ("enable", lambda: km.enable(ref)),
        ("disable", lambda: km.disable(ref)),
        ("destroy", lambda: km.destroy(ref)),
    ):
        _raises(KeyUnavailableError, call, f"{name} after destroy")
    _raises(ConflictError, lambda: km.create_domain_key(ref), "reusing a destroyed domain id")
    km.rotate(ring)
    _check(km.rewrap(ring) == 1, "rewrap must skip destroyed domain keys")
    _raises(KeyUnavailableError, lambda: km.unwrap(ref, wrapped, CONTEXT), "unwrap after rewrap")
    _check(km.unwrap(survivor, km.wrap(survivor, data_key, CONTEXT), CONTEXT) == data_key, "d2")


def _check_no_key_bytes(km: KeyManager, prefix: str) -> None:
    ring = f"{prefix}-opaque"
    km.create_ring(ring)
    ref = _new_domain(km, ring, "d1")
    data_key = secrets.token_bytes(32)
    km.wrap(ref, data_key, CONTEXT)
    shown = " ".join((repr(km), str(km), km.uri, repr(km.describe(ring, "d1"))))
    for form in (data_key.hex(), base64.b64encode(data_key).decode(), repr(data_key)):
        _check(form not in shown, "a data key shows in repr, uri or describe")


_CHECKS: Final = (
    _check_rings,
    _check_domains,
    _check_round_trip,
    _check_binding,
    _check_tamper,
    _check_rotation,
    _check_disable,
    _check_destroy,
    _check_no_key_bytes,
)


def exercise_key_manager(km: KeyManager, *, ring_prefix: str) -> None:
    """Run every conformance check against ``km``; raises AssertionError on the first failure."""
    if not isinstance(km, KeyManager):
        raise _fail(f"{type(km).__name__} does not implement the KeyManager protocol")
    for check in _CHECKS:
        try:
            check(km, ring_prefix)
        except (AssertionError, ForgekeepError) as exc:
            exc.add_note(f"in key manager conformance check {check.__name__}")
            raise
        except Exception as exc:
            message = f"{check.__name__}: a non-Forgekeep error escaped: {type(exc).__name__}"
            raise _fail(message) from exc
