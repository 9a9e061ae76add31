"""A real witness over loopback TLS, cosigning a real workspace log's checkpoints.

The witness serves through the shared HTTPS runner with certificates from a
throw-away CA; the log side is :func:`forgekeep.witness.client.submit` with
checkpoints and consistency proofs from a real vault. A fork (same size, other
root, signed by the real log key) and a bad proof both end in ``ForkError``.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import delete, update

from forgekeep.clock import ManualClock
from forgekeep.crypto.signed import parse_vkey
from forgekeep.db.ledger import Checkpoint as CheckpointRow
from forgekeep.db.ledger import LedgerHash
from forgekeep.db.models import Event
from forgekeep.errors import CheckpointError, ConfigError, ForkError
from forgekeep.ledger import audit, log, merkle
from forgekeep.ledger.audit import WitnessPolicy
from forgekeep.ledger.checkpoint import (
    Checkpoint,
    add_signature_lines,
    sign_checkpoint,
    verify_checkpoint,
)
from forgekeep.ledger.cosigner_keys import (
    CosignerKey,
    CosignerVerifierKey,
    encode_cosigner_vkey,
    parse_cosigner_vkey,
)
from forgekeep.runner import serve_in_thread
from forgekeep.service.ledger import key as ledger_key
from forgekeep.service.vault import Vault
from forgekeep.testing.internals import context_of
from forgekeep.testing.pki import TestCA
from forgekeep.witness.app import Witness, create_app
from forgekeep.witness.client import submit
from forgekeep.witness.config import LogEntry
from forgekeep.witness.state import init_witness, load_config, save_config


@dataclass
class Served:
    url: str
    cacert: Path
    key: CosignerVerifierKey
    witness: Witness


@pytest.fixture
def served(tmp_path: Path, vault: Vault, clock: ManualClock) -> Iterator[Served]:
    ca = TestCA(tmp_path / "ca")
    cert = ca.issue_server("witness")
    witness_dir, vkey = init_witness(tmp_path / "witness", "witness.example/w1")
    origin = ledger_key.origin_of(vault.tenant_id)
    entry = LogEntry(origin=origin, vkey=vault.ledger.key())
    save_config(witness_dir, witness_dir.config.model_copy(update={"log": (entry,)}))
    witness = Witness.from_dir(load_config(witness_dir.path), clock)
    with serve_in_thread(
        create_app(witness),  # type: ignore[arg-type]
        certfile=cert.cert_path,
        keyfile=cert.key_path,
        client_ca=None,
        require_client_cert=False,
    ) as port:
        yield Served(f"https://127.0.0.1:{port}", ca.cert_path, parse_cosigner_vkey(vkey), witness)


def _put(vault: Vault, name: str) -> None:
    vault.assets.put(io.BytesIO(name.encode()), project="blade", name=name)


def _cosign(served: Served, old: int, proof: list[bytes], note: bytes) -> list[str] | int:
    return submit(served.url, served.cacert, old, proof, note, witness_key=served.key)


def test_log_checkpoints_are_cosigned_over_tls(vault: Vault, served: Served) -> None:
    _put(vault, "a.bin")
    first = vault.ledger.checkpoint()
    lines = _cosign(served, 0, [], first.note)
    assert isinstance(lines, list)
    assert len(lines) == 1
    cosigned = add_signature_lines(first.note, lines)
    verified = verify_checkpoint(cosigned, parse_vkey(vault.ledger.key()), [served.key], 1)
    assert verified.checkpoint.size == first.size

    _put(vault, "b.bin")
    second = vault.ledger.checkpoint()
    assert second.size > first.size
    assert _cosign(served, 0, [], second.note) == first.size  # 409: retry from its size
    proof = vault.ledger.prove_consistency(first.size, second.size)
    assert isinstance(_cosign(served, first.size, proof, second.note), list)
    assert served.witness.store.read(verified.checkpoint.origin).size == second.size  # type: ignore[union-attr]


def test_fork_same_size_other_root_is_409_evidence_and_fork_error(
    vault: Vault, served: Served
) -> None:
    _put(vault, "a.bin")
    real = vault.ledger.checkpoint()
    assert isinstance(_cosign(served, 0, [], real.note), list)
    ctx = context_of(vault)
    with ctx.sessions() as session:  # the log operator, signing a second history
        signer = ledger_key.log_signer(session, ctx)
    origin = ledger_key.origin_of(vault.tenant_id)
    forked = sign_checkpoint(Checkpoint(origin, real.size, bytes(32)), signer)
    with pytest.raises(ForkError, match="another checkpoint of size"):
        _cosign(served, real.size, [], forked)
    (evidence,) = served.witness.store.evidence()
    assert (evidence.kind, evidence.size) == ("same-size-different-root", real.size)


def test_bad_consistency_proof_is_422_and_fork_error(vault: Vault, served: Served) -> None:
    _put(vault, "a.bin")
    first = vault.ledger.checkpoint()
    assert isinstance(_cosign(served, 0, [], first.note), list)
    _put(vault, "b.bin")
    second = vault.ledger.checkpoint()
    proof = vault.ledger.prove_consistency(first.size, second.size)
    bad = [bytes(32)] * len(proof)
    with pytest.raises(ForkError, match="rejected the consistency proof"):
        _cosign(served, first.size, bad, second.note)
    assert served.witness.store.read(origin_of(vault)).size == first.size  # type: ignore[union-attr]


def test_unknown_log_and_wrong_ca_are_config_errors(
    tmp_path: Path, vault: Vault, served: Served
) -> None:
    _put(vault, "a.bin")
    note = vault.ledger.checkpoint().note
    served.witness.logs.clear()
    with pytest.raises(ConfigError, match="does not know"):
        _cosign(served, 0, [], note)
    rogue = TestCA(tmp_path / "rogue", name="Rogue CA")
    with pytest.raises(ConfigError, match="cannot reach"):
        submit(served.url, rogue.cert_path, 0, [], note)


def origin_of(vault: Vault) -> str:
    return ledger_key.origin_of(vault.tenant_id)


def test_the_log_collects_cosignatures_from_configured_witnesses(
    vault: Vault, served: Served
) -> None:
    vault.witnesses.add(
        "w1", url=served.url, vkey=encode_cosigner_vkey(served.key), cacert=served.cacert
    )
    _put(vault, "a.bin")
    first, results = vault.ledger.collect()
    assert results == {"w1": "ok"}
    log_key = parse_vkey(vault.ledger.key())
    assert verify_checkpoint(first.note, log_key, [served.key], 1).checkpoint.size == first.size
    _put(vault, "b.bin")
    second, results = vault.ledger.collect()  # from the witness's size, with a proof
    assert results == {"w1": "ok"}
    assert verify_checkpoint(second.note, log_key, [served.key], 1).checkpoint.size > first.size
    ((witness, status),) = vault.witnesses.ls()
    assert (witness.name, status.last_size, status.failures) == ("w1", second.size, [])
    with context_of(vault).sessions() as session:  # the stored note keeps the cosignature
        row = session.get(CheckpointRow, (vault.tenant_id, second.size))
    assert row is not None
    assert verify_checkpoint(row.note.encode(), log_key, [served.key], 1)
    # ledger verify --witness --quorum: the newest checkpoint, or a trusted one.
    cosigned = vault.ledger.verify(witnesses=WitnessPolicy((served.key,), 1)).cosigned_by
    assert [c.split("+")[0] for c in cosigned] == ["witness.example/w1"]
    trusted = vault.ledger.verify(
        trusted_checkpoint=first.note, witnesses=WitnessPolicy((served.key,), 1)
    )
    assert trusted.trusted_size == first.size
    stranger = CosignerKey("witness.example/w9", bytes(32)).verifier
    with pytest.raises(CheckpointError, match="0 of 1"):
        vault.ledger.verify(witnesses=WitnessPolicy((stranger,), 1))
    future = int(time.time()) + 3600  # every cosignature made so far is stale then
    with pytest.raises(CheckpointError, match="0 of 1 required fresh"):
        vault.ledger.verify(witnesses=WitnessPolicy((served.key,), 1, not_before=future))


def _rewrite(vault: Vault, kind: str) -> None:
    """Tamper with the stored log the way an operator could, then rebuild its hashes so
    the log is consistent with itself again (only an outside view can tell)."""
    tenant = vault.tenant_id
    with context_of(vault).sessions() as session:
        size = log.log_size(session, tenant)
        entries = list(log.entries(session, tenant, 0, size))
        if kind == "byte":
            entries[1] = entries[1].replace(b'"ok"', b'"OK"', 1)
        elif kind == "swap":
            entries[1], entries[2] = entries[2], entries[1]
        else:  # delete entry 1 and close the gap
            del entries[1]
            session.execute(delete(Event).where(Event.tenant_id == tenant, Event.log_index == 1))
            session.execute(
                update(Event)
                .where(Event.tenant_id == tenant, Event.log_index > 1)
                .values(log_index=Event.log_index - 1)
            )
        for index, entry in enumerate(entries):
            session.execute(
                update(Event)
                .where(Event.tenant_id == tenant, Event.log_index == index)
                .values(entry=entry)
            )
        rebuilt = audit.rebuild(entries)
        hashes = rebuilt.read_hashes(range(merkle.stored_hash_count(len(entries))))
        session.execute(delete(LedgerHash).where(LedgerHash.tenant_id == tenant))
        session.execute(delete(CheckpointRow).where(CheckpointRow.tenant_id == tenant))
        session.add_all(LedgerHash(tenant_id=tenant, idx=i, hash=h) for i, h in enumerate(hashes))
        session.commit()


@pytest.mark.parametrize("kind", ["byte", "delete", "swap"])
def test_the_witness_catches_a_tampered_history(vault: Vault, served: Served, kind: str) -> None:
    _put(vault, "a.bin")
    first = vault.ledger.checkpoint()
    assert isinstance(_cosign(served, 0, [], first.note), list)
    _rewrite(vault, kind)
    _put(vault, "b.bin")
    second = vault.ledger.checkpoint()  # signed by the real key, over the rewritten tree
    proof = vault.ledger.prove_consistency(first.size, second.size)
    with pytest.raises(ForkError, match="consistency proof"):
        _cosign(served, first.size, proof, second.note)
