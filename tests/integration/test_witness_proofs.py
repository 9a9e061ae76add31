"""Proof files carry the newest checkpoint the witnesses cosigned, over real HTTPS witnesses.

Two witnesses run on loopback TLS (as in ``test_witness_https``). A proof file
written with both configured verifies with ``ledger verify-proof --witness W1
--witness W2 --quorum 2``; before any covering checkpoint is cosigned, the
command says so (exit 4) instead of signing one no witness has seen.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fk_cli_harness import InProcess
from sqlalchemy import func, select

from forgekeep.clock import ManualClock
from forgekeep.crypto.signed import encode_vkey, generate_signer, parse_vkey
from forgekeep.db.ledger import Checkpoint as CheckpointRow
from forgekeep.db.models import Event
from forgekeep.errors import EXIT_PENDING, AccessDeniedError, NotYetCoveredError
from forgekeep.ledger.cosigner_keys import CosignerKey, encode_cosigner_vkey, parse_cosigner_vkey
from forgekeep.ledger.tlog_proof import verify_proof_file
from forgekeep.runner import serve_in_thread
from forgekeep.service.ledger.key import origin_of
from forgekeep.service.vault import Vault
from forgekeep.service.wiring import open_vault
from forgekeep.service.workspace.create import InitResult
from forgekeep.testing.internals import context_of
from forgekeep.testing.pki import TestCA
from forgekeep.testing.vetting import ISSUER
from forgekeep.witness.app import Witness, create_app
from forgekeep.witness.config import LogEntry
from forgekeep.witness.state import init_witness, load_config, save_config


@pytest.fixture
def two_witnesses(tmp_path: Path, vault: Vault, clock: ManualClock) -> Iterator[list[str]]:
    """Two real witnesses over TLS, configured on the vault; yields their vkeys."""
    ca = TestCA(tmp_path / "ca")
    entry = LogEntry(origin=origin_of(vault.tenant_id), vkey=vault.ledger.key())
    vkeys = []
    with contextlib.ExitStack() as stack:
        for name in ("w1", "w2"):
            cert = ca.issue_server(name)
            directory, vkey = init_witness(tmp_path / name, f"witness.example/{name}")
            save_config(directory, directory.config.model_copy(update={"log": (entry,)}))
            witness = Witness.from_dir(load_config(directory.path), clock)
            port = stack.enter_context(
                serve_in_thread(
                    create_app(witness),  # type: ignore[arg-type]
                    certfile=cert.cert_path,
                    keyfile=cert.key_path,
                    client_ca=None,
                    require_client_cert=False,
                )
            )
            vault.witnesses.add(
                name, url=f"https://127.0.0.1:{port}", vkey=vkey, cacert=ca.cert_path
            )
            vkeys.append(vkey)
        yield vkeys


def _put_entry(vault: Vault) -> int:
    vault.assets.put(io.BytesIO(b"ISO-10303-21; blade"), project="blade", name="blade.step")
    with context_of(vault).sessions() as session:
        index = session.scalar(
            select(Event.log_index).where(Event.action == "asset.put").order_by(Event.seq.desc())
        )
    assert index is not None
    return index


def _checkpoints(vault: Vault) -> int:
    with context_of(vault).sessions() as session:
        return session.scalar(select(func.count()).select_from(CheckpointRow)) or 0


def test_a_proof_meets_a_quorum_of_two_witnesses(
    vault: Vault, two_witnesses: list[str], fk: InProcess, tmp_path: Path
) -> None:
    index = _put_entry(vault)
    before = _checkpoints(vault)
    with pytest.raises(NotYetCoveredError, match="cosigned by all 2 witnesses") as caught:
        vault.ledger.prove_inclusion(index)
    assert caught.value.exit_code == EXIT_PENDING == 4
    assert _checkpoints(vault) == before, "no checkpoint signed that no witness has seen"
    with context_of(vault).sessions() as session:
        refusal = session.scalar(
            select(Event.detail).where(Event.request_id == caught.value.request_id)
        )
    assert refusal is not None
    assert json.loads(refusal)["code"] == "FK-LEDGER-011"

    proof = vault.ledger.prove_inclusion(index, wait=30).proof
    keys = [parse_cosigner_vkey(v) for v in two_witnesses]
    verified = verify_proof_file(proof, parse_vkey(vault.ledger.key()), keys, 2)
    assert verified.index == index
    assert len(verified.cosigned_at) == 2
    # Once cosigned, no wait is needed: the newest cosigned checkpoint covers it.
    assert vault.ledger.prove_inclusion(index).proof == proof

    path = tmp_path / "entry.tlog-proof"
    path.write_bytes(proof)
    w1, w2 = two_witnesses
    checked = fk(
        "ledger", "verify-proof", str(path), "--key", vault.ledger.key(),
        "--witness", w1, "--witness", w2, "--quorum", "2", "--json",
    ).json()  # fmt: skip
    assert checked["index"] == index
    assert len(checked["cosigned_by"]) == 2


def test_a_receipt_waits_for_both_witnesses(
    vault: Vault, two_witnesses: list[str], tmp_path: Path
) -> None:
    _put_entry(vault)
    out = tmp_path / "blade.step"
    with pytest.raises(NotYetCoveredError, match="cosigned by all 2") as caught:
        vault.assets.get("blade.step", out, receipt=True)
    assert "the read itself succeeded" in caught.value.hint
    assert out.read_bytes() == b"ISO-10303-21; blade", "the read was delivered"

    result = vault.assets.get("blade.step", io.BytesIO(), receipt=True, receipt_wait=30)
    assert result.receipt is not None
    keys = [parse_cosigner_vkey(v) for v in two_witnesses]
    verified = verify_proof_file(result.receipt, parse_vkey(vault.ledger.key()), keys, 2)
    assert json.loads(verified.entry)["request"] == result.request_id


def test_a_witness_that_never_answers_bounds_the_wait(
    vault: Vault, two_witnesses: list[str], tmp_path: Path
) -> None:
    ca = TestCA(tmp_path / "dead-ca")
    dead = encode_cosigner_vkey(CosignerKey("witness.example/w3", bytes(32)).verifier)
    vault.witnesses.rm("w2")
    vault.witnesses.add("w3", url="https://127.0.0.1:9", vkey=dead, cacert=ca.cert_path)
    index = _put_entry(vault)
    with pytest.raises(NotYetCoveredError, match="cosigned by all 2 witnesses"):
        vault.ledger.prove_inclusion(index, wait=1.0)
    statuses = {w.name: s for w, s in vault.witnesses.ls()}
    assert statuses["w1"].last_size > index, "the live witness cosigned"
    assert statuses["w3"].failures, "the dead one is recorded, and the wait ended"


def test_without_witnesses_a_reader_never_signs_a_checkpoint(
    workspace: InitResult, vault: Vault, clock: ManualClock, passphrase: bytes
) -> None:
    vault.assets.put(io.BytesIO(b"ISO-10303-21; blade"), project="blade", name="blade.step")
    reader = vault.principals.add_person(
        org="home", display_name="Rita Reader", citizenships=["DE"], location="DE",
        roles=["reader"],
    ).id  # fmt: skip
    ISSUER.vet(vault, reader, clock, clearance=2)
    before = _checkpoints(vault)
    with open_vault(workspace.home, passphrase=passphrase, principal=reader, clock=clock) as v:
        with pytest.raises(NotYetCoveredError, match="you may not sign one") as caught:
            v.assets.get("blade.step", io.BytesIO(), receipt=True)
        assert _checkpoints(vault) == before, "a reader's receipt signs nothing"
    # Closing the vault signs the cadence's own checkpoint (ledger_cadence), not the reader's.
    index = int(caught.value.hint.split("is entry ")[1].split(";")[0])
    vault.ledger.checkpoint()  # an admin signs one: now it covers the read
    proof = vault.ledger.prove_inclusion(index).proof
    assert (
        json.loads(verify_proof_file(proof, parse_vkey(vault.ledger.key())).entry)["actor"]
        == reader
    )


NO_CHECKPOINTS = (
    '@id("site/no-checkpoints")\n@reason("no-checkpoints")\n'
    'forbid (principal, action == Forgekeep::Action::"ledger.checkpoint", resource);\n'
)


def test_signing_for_a_proof_or_an_export_needs_ledger_checkpoint(
    vault: Vault, clock: ManualClock, tmp_path: Path
) -> None:
    bob = vault.principals.add_person(
        org="home", display_name="Bob", citizenships=["DE"], location="DE", roles=["approver"]
    ).id
    bob_key = generate_signer("bob")
    ISSUER.vet(vault, bob, clock)
    vault.principals.set_signing_key(bob, encode_vkey(bob_key.verifier))
    approval = vault.policy.request_apply(NO_CHECKPOINTS)
    vault.approvals.approve(approval.id, bob_key)
    vault.policy.apply(approval.id)
    index = _put_entry(vault)  # newer than any checkpoint
    before = _checkpoints(vault)
    with pytest.raises(NotYetCoveredError, match="you may not sign one"):
        vault.ledger.prove_inclusion(index)  # the admin may read the log, not sign it
    with pytest.raises(AccessDeniedError):
        vault.ledger.export(tmp_path / "export")
    assert _checkpoints(vault) == before


def test_a_token_without_the_checkpoint_scope_never_signs_for_a_receipt(
    workspace: InitResult, vault: Vault, clock: ManualClock, passphrase: bytes
) -> None:
    _put_entry(vault)
    _, text = vault.tokens.create(label="reads", scopes=["read"], ttl=dt.timedelta(days=1))
    before = _checkpoints(vault)
    with open_vault(workspace.home, passphrase=passphrase, clock=clock, token=text) as scoped:
        with pytest.raises(NotYetCoveredError, match="you may not sign one"):
            scoped.assets.get(
                "blade.step", io.BytesIO(), receipt=True
            )  # the admin's token, narrowed
        assert _checkpoints(vault) == before  # (closing signs the cadence's own)
