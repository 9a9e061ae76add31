"""Signed objects: sign, the JSON envelope, and fail-closed verification with a quorum."""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forgekeep import limits
from forgekeep.crypto.canonical import canonical_json
from forgekeep.crypto.signed import (
    Signature,
    SignedObject,
    SignerKey,
    VerifierKey,
    countersign,
    sign,
    signed_message,
    verify,
)
from forgekeep.errors import FormatError, IntegrityError, LimitExceededError, UsageError

PAYLOAD: dict[str, Any] = {"asset_id": "asset-0001", "approved": True, "n": 3, "tags": ["a"]}


@pytest.fixture
def alice() -> SignerKey:
    return SignerKey("alice.example/approver", bytes(range(32)))


@pytest.fixture
def bob() -> SignerKey:
    return SignerKey("bob.example/approver", bytes(range(1, 33)))


@pytest.fixture
def mallory() -> SignerKey:
    return SignerKey("mallory", bytes(32))


def _reparse(obj: SignedObject) -> SignedObject:
    return SignedObject.from_json(obj.to_json())


def _doc(obj: SignedObject) -> dict[str, Any]:
    return json.loads(obj.to_json())  # type: ignore[no-any-return]


def _from_doc(doc: object) -> SignedObject:
    return SignedObject.from_json(json.dumps(doc).encode())


def test_round_trip(alice: SignerKey) -> None:
    obj = sign(alice, "approval", PAYLOAD)
    again = _reparse(obj)
    assert again == obj
    assert again.to_json() == obj.to_json() == canonical_json(_doc(obj))
    assert verify(again, expected_type="approval", trusted=[alice.verifier]) == PAYLOAD


def test_signature_covers_the_documented_bytes(alice: SignerKey) -> None:
    obj = sign(alice, "approval", PAYLOAD)
    message = b"forgekeep/approval/v1\n" + canonical_json(PAYLOAD)
    assert obj.message() == signed_message("approval", canonical_json(PAYLOAD)) == message
    assert obj.signatures == (Signature(alice.key_id, alice.sign_bytes(message)),)


def test_payload_is_detached_from_the_caller(alice: SignerKey) -> None:
    payload: dict[str, Any] = {"items": [1, 2]}
    obj = sign(alice, "approval", payload)
    payload["items"].append(3)
    returned = verify(obj, expected_type="approval", trusted=[alice.verifier])
    returned["items"].append(4)
    assert obj.payload == {"items": [1, 2]}


def test_tampered_payload_fails(alice: SignerKey) -> None:
    doc = _doc(sign(alice, "approval", PAYLOAD))
    doc["payload"]["approved"] = False
    with pytest.raises(IntegrityError, match="does not verify"):
        verify(_from_doc(doc), expected_type="approval", trusted=[alice.verifier])


def test_tampered_signature_fails(alice: SignerKey) -> None:
    obj = sign(alice, "approval", PAYLOAD)
    sig = obj.signatures[0]
    bad = Signature(sig.key_id, bytes([sig.sig[0] ^ 1]) + sig.sig[1:])
    with pytest.raises(IntegrityError, match="does not verify"):
        verify(
            dataclasses.replace(obj, signatures=(bad,)),
            expected_type="approval",
            trusted=[alice.verifier],
        )


def test_wrong_type_fails(alice: SignerKey) -> None:
    obj = sign(alice, "approval", PAYLOAD)
    with pytest.raises(IntegrityError, match="type 'approval', expected 'release-ticket'"):
        verify(obj, expected_type="release-ticket", trusted=[alice.verifier])
    # Relabelling the type in the envelope breaks the signature too.
    relabelled = dataclasses.replace(obj, type="release-ticket")
    with pytest.raises(IntegrityError, match="does not verify"):
        verify(relabelled, expected_type="release-ticket", trusted=[alice.verifier])


def test_untrusted_key_fails(alice: SignerKey, mallory: SignerKey) -> None:
    obj = sign(mallory, "approval", PAYLOAD)
    with pytest.raises(IntegrityError, match="no signature by a trusted key"):
        verify(obj, expected_type="approval", trusted=[alice.verifier])


def test_key_claiming_a_trusted_id_fails(alice: SignerKey, mallory: SignerKey) -> None:
    obj = sign(mallory, "approval", PAYLOAD)
    forged = Signature(alice.key_id, obj.signatures[0].sig)
    with pytest.raises(IntegrityError, match="does not verify"):
        verify(
            dataclasses.replace(obj, signatures=(forged,)),
            expected_type="approval",
            trusted=[alice.verifier],
        )


def test_unknown_signatures_are_ignored(alice: SignerKey, mallory: SignerKey) -> None:
    obj = countersign(sign(mallory, "approval", PAYLOAD), alice)
    assert verify(obj, expected_type="approval", trusted=[alice.verifier]) == PAYLOAD


def test_quorum_two(alice: SignerKey, bob: SignerKey) -> None:
    trusted = [alice.verifier, bob.verifier]
    one = sign(alice, "approval", PAYLOAD)
    with pytest.raises(IntegrityError, match="1 of 2 required"):
        verify(one, expected_type="approval", trusted=trusted, quorum=2)
    two = _reparse(countersign(one, bob))
    assert verify(two, expected_type="approval", trusted=trusted, quorum=2) == PAYLOAD


def test_duplicate_signatures_count_once(alice: SignerKey, bob: SignerKey) -> None:
    trusted = [alice.verifier, bob.verifier]
    twice = _reparse(countersign(sign(alice, "approval", PAYLOAD), alice))
    assert len(twice.signatures) == 2
    with pytest.raises(IntegrityError, match="1 of 2 required"):
        verify(twice, expected_type="approval", trusted=trusted, quorum=2)


def test_one_key_under_two_names_counts_once(alice: SignerKey) -> None:
    alias = SignerKey("alias", alice.seed())
    obj = countersign(sign(alice, "approval", PAYLOAD), alias)
    trusted = [alice.verifier, alias.verifier]
    with pytest.raises(UsageError, match="exceeds"):
        verify(obj, expected_type="approval", trusted=trusted, quorum=2)
    assert verify(obj, expected_type="approval", trusted=trusted) == PAYLOAD


def test_listing_a_key_twice_does_not_raise_the_count(alice: SignerKey) -> None:
    obj = sign(alice, "approval", PAYLOAD)
    with pytest.raises(UsageError, match="exceeds"):
        verify(obj, expected_type="approval", trusted=[alice.verifier] * 2, quorum=2)


@pytest.mark.parametrize("quorum", [0, -1, True, 1.0])
def test_bad_quorum_is_a_usage_error(alice: SignerKey, quorum: Any) -> None:
    obj = sign(alice, "approval", PAYLOAD)
    with pytest.raises(UsageError, match="quorum"):
        verify(obj, expected_type="approval", trusted=[alice.verifier], quorum=quorum)


@pytest.mark.parametrize("trusted", [[], (), "alice+00000000+AA==", [b"key"]])
def test_no_default_trust(alice: SignerKey, trusted: Any) -> None:
    obj = sign(alice, "approval", PAYLOAD)
    with pytest.raises(UsageError):
        verify(obj, expected_type="approval", trusted=trusted)


def test_ambiguous_trust_is_a_usage_error(alice: SignerKey) -> None:
    # Same name and 32-bit key hash, different key: a 2**-32 accident, so fake the hash.
    key_id = alice.key_id

    class Clashing(VerifierKey):
        __slots__ = ()

        @property
        def key_id(self) -> str:
            return key_id

    fake = Clashing(alice.name, SignerKey("other", bytes(range(2, 34))).verifier.public_key)
    obj = sign(alice, "approval", PAYLOAD)
    with pytest.raises(UsageError, match="share the key id"):
        verify(obj, expected_type="approval", trusted=[alice.verifier, fake])


@pytest.mark.parametrize("type_", ["", "Approval", "1st", "a_b", "a" * 33, "é", None])
def test_bad_types_are_usage_errors(alice: SignerKey, type_: Any) -> None:
    with pytest.raises(UsageError):
        sign(alice, type_, PAYLOAD)
    obj = sign(alice, "approval", PAYLOAD)
    with pytest.raises(UsageError):
        verify(obj, expected_type=type_, trusted=[alice.verifier])


def test_longest_type(alice: SignerKey) -> None:
    type_ = "a" + "-0" * 15 + "z"
    assert len(type_) == 32
    obj = _reparse(sign(alice, type_, PAYLOAD))
    assert verify(obj, expected_type=type_, trusted=[alice.verifier]) == PAYLOAD


def test_payload_must_be_a_mapping(alice: SignerKey) -> None:
    with pytest.raises(UsageError):
        sign(alice, "approval", [1, 2])  # type: ignore[arg-type]
    with pytest.raises(FormatError):
        sign(alice, "approval", {"n": 2**60})


def test_oversize_document(alice: SignerKey) -> None:
    with pytest.raises(LimitExceededError):
        sign(alice, "approval", {"blob": "x" * limits.MAX_SIGNED_DOCUMENT_BYTES})
    obj = sign(alice, "approval", {"blob": "x" * (limits.MAX_SIGNED_DOCUMENT_BYTES - 300)})
    data = obj.to_json()
    assert len(data) <= limits.MAX_SIGNED_DOCUMENT_BYTES
    padded = data + b" " * (limits.MAX_SIGNED_DOCUMENT_BYTES + 1 - len(data))
    with pytest.raises(LimitExceededError):
        SignedObject.from_json(padded)
    with pytest.raises(LimitExceededError):
        countersign(countersign(obj, alice), alice)


def test_from_json_takes_bytes(alice: SignerKey) -> None:
    with pytest.raises(UsageError):
        SignedObject.from_json("{}")  # type: ignore[arg-type]
    data = sign(alice, "approval", PAYLOAD).to_json()
    assert SignedObject.from_json(bytearray(data)) == SignedObject.from_json(memoryview(data))


def _good(alice: SignerKey) -> dict[str, Any]:
    return _doc(sign(alice, "approval", PAYLOAD))


_SIG = base64.b64encode(bytes(64)).decode()  # well-formed, but signs nothing


@pytest.mark.parametrize(
    "mutate",
    [
        lambda _: [],
        lambda d: d | {"extra": 1},
        lambda d: {k: v for k, v in d.items() if k != "type"},
        lambda d: d | {"type": "Approval"},
        lambda d: d | {"type": 7},
        lambda d: d | {"payload": [1]},
        lambda d: d | {"payload": {"n": 2**60}},
        lambda d: d | {"signatures": []},
        lambda d: d | {"signatures": {}},
        lambda d: d | {"signatures": ["x"]},
        lambda d: d | {"signatures": [{"key_id": "a+00000000"}]},
        lambda d: d | {"signatures": [{"key_id": "a+00000000", "sig": _SIG, "x": 1}]},
        lambda d: d | {"signatures": [{"key_id": 1, "sig": _SIG}]},
        lambda d: d | {"signatures": [{"key_id": "a+00000000", "sig": None}]},
        lambda d: d | {"signatures": [{"key_id": "a00000000", "sig": _SIG}]},
        lambda d: d | {"signatures": [{"key_id": "+00000000", "sig": _SIG}]},
        lambda d: d | {"signatures": [{"key_id": "a b+00000000", "sig": _SIG}]},
        lambda d: d | {"signatures": [{"key_id": "a+0000000G", "sig": _SIG}]},
        lambda d: d | {"signatures": [{"key_id": "a+00000000", "sig": _SIG[:-4]}]},
        lambda d: d | {"signatures": [{"key_id": "a+00000000", "sig": _SIG + "AAAA"}]},
        lambda d: d | {"signatures": [{"key_id": "a+00000000", "sig": "!" + _SIG[1:]}]},
    ],
)
def test_malformed_envelopes(alice: SignerKey, mutate: Any) -> None:
    with pytest.raises(FormatError):
        _from_doc(mutate(_good(alice)))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff",
        b"[",
        b'{"payload":{"a":NaN},"signatures":[],"type":"a"}',
        b'{"payload":{"a":1,"a":2},"signatures":[],"type":"a"}',
        b'{"type":"a","type":"b","payload":{},"signatures":[]}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"payload":{"a":"\\ud800"},"signatures":[{"key_id":"a+00000000","sig":"'
        + b"A" * 86
        + b'=="}],"type":"a"}',
    ],
)
def test_malformed_bytes(data: bytes) -> None:
    with pytest.raises(FormatError):
        SignedObject.from_json(data)


def test_non_canonical_input_still_verifies(alice: SignerKey) -> None:
    doc = _good(alice)
    pretty = json.dumps(doc, indent=2, sort_keys=False).encode()
    obj = SignedObject.from_json(pretty)
    assert verify(obj, expected_type="approval", trusted=[alice.verifier]) == PAYLOAD
    assert obj.to_json() == canonical_json(doc)


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1)
    | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=25,
)


@settings(max_examples=150, deadline=None)
@given(payload=st.dictionaries(st.text(), _json_values, max_size=6))
def test_round_trip_property(payload: dict[str, Any]) -> None:
    signer = SignerKey("prop", bytes(range(32)))
    obj = sign(signer, "prop-test", payload)
    data = obj.to_json()
    again = SignedObject.from_json(data)
    assert again.to_json() == data
    assert verify(again, expected_type="prop-test", trusted=[signer.verifier]) == payload
    assert base64.b64decode(_doc(again)["signatures"][0]["sig"]) == obj.signatures[0].sig
