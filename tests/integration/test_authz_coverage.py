"""Coverage check: every operation is decided by Cedar, so a deny-all policy stops all.

Operations are found by introspection — every operation of the vault's groups
(the Python API, built from ``service.operations.OPERATIONS``), every operation
the CLI's sources call, and every leaf of the Typer command tree — and each one
must be in the table of operations and called below, or in an explicit exempt
list. A workspace applies a deny-all policy through the real approval
flow; then every operation must fail with an ``FK-AUTHZ`` code and leave a
``denied`` journal event naming the deny-all guard.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest
import typer.main
from fk_cli_harness import CHEAP_KDF, InProcess, query, run_subprocess, vet_through_cli
from fk_cli_harness import PASSPHRASE as CLI_PASSPHRASE
from sqlalchemy import select

import forgekeep.cli
from forgekeep.cli.main import app
from forgekeep.clock import ManualClock
from forgekeep.crypto.signed import encode_vkey, generate_signer
from forgekeep.db.models import Event
from forgekeep.errors import AccessDeniedError
from forgekeep.service.access.sealed_reasons import SEALED_POLICY, open_fields
from forgekeep.service.authz import SPECS
from forgekeep.service.operations import GROUPS, OPERATIONS, Bound, Group
from forgekeep.service.vault import Vault
from forgekeep.service.wiring import open_vault
from forgekeep.service.workspace.create import AdminSpec, init_workspace
from forgekeep.testing.internals import context_of
from forgekeep.testing.vetting import ISSUER

PASSPHRASE = b"coverage passphrase"
DENY_ALL = '@id("site/deny-all")\n@reason("deny-all")\nforbid (principal, action, resource);\n'
#: Vault members that are not operations: each says why.
EXEMPT_MEMBERS = {
    "close": "releases local resources only",
    "tenant_id": "the tenant this vault was opened on",
    "principal_id": "the principal this vault acts as",
}
EXEMPT_COMMANDS = {
    "init": "creates a new workspace; there is no policy yet",
    "demo": "runs in its own scratch workspace",
    "doctor": "health checks",
    "unlock": "key agent: holds the keyring for this user; decides nothing",
    "lock": "key agent",
    "migrate": "schema upgrade by whoever holds the files, before the schema can decide"
    " anything; journaled. --to-database then runs ledger verify through the access checks",
    "whoami": "authentication only",
    "login": "stores a credential after authenticating it",
    "logout": "removes a local credential",
    "keygen": "makes a local key file; no workspace",
    "profiles ls": "local client config",
    "profiles use": "local client config",
    "policy validate": "checks files; no workspace",
    "policy test": "checks files; no workspace",
    "policy diff": "checks files; no workspace",
    "ledger verify-proof": "checks a proof file offline with the keys given; no workspace",
    "witness init": "the witness daemon is a partner's process, not the vault",
    "witness run": "the witness daemon is a partner's process, not the vault",
    "witness status": "the witness daemon is a partner's process, not the vault",
    "witness logs add": "the witness daemon is a partner's process, not the vault",
    "witness logs ls": "the witness daemon is a partner's process, not the vault",
    "witness evidence ls": "the witness daemon is a partner's process, not the vault",
}


@dataclass
class Denied:
    home: Path
    vault: Vault
    clock: ManualClock
    admin: str
    pending: str  # an approval still waiting for a verdict
    bob_key: Any


def _apply_deny_all(vault: Vault, bob: str, bob_key: Any) -> None:
    """Deny-all goes in the way any policy does: requested, approved by another, applied."""
    approval = vault.policy.request_apply(DENY_ALL)
    vault.approvals.approve(approval.id, bob_key)
    vault.policy.apply(approval.id)


@pytest.fixture(scope="module")
def denied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Denied]:
    home = tmp_path_factory.mktemp("coverage") / "ws"
    clock = ManualClock(dt.datetime.now(dt.UTC).replace(microsecond=0))
    ids = init_workspace(
        home,
        passphrase=PASSPHRASE,
        admin=AdminSpec("Ada Admin", ("DE",), "DE"),
        trusted_issuers=[ISSUER.vkey],
        clock=clock,
    )
    bob_key = generate_signer("bob")
    with open_vault(home, passphrase=PASSPHRASE, clock=clock) as vault:
        ISSUER.vet(vault, ids.principal_id, clock)
        vault.projects.create("blade", residency="DE")
        vault.assets.put(io.BytesIO(b"part"), project="blade", name="part.bin")
        vault.principals.add_organisation("partner-b", jurisdiction="DE")
        bob = vault.principals.add_person(
            org="home", display_name="Bob", citizenships=["DE"], location="DE", roles=["approver"]
        ).id
        ISSUER.vet(vault, bob, clock)
        vault.principals.set_signing_key(bob, encode_vkey(bob_key.verifier))
        pending = vault.policy.request_apply('@id("site/x")\npermit (principal, action, resource);')
        _apply_deny_all(vault, bob, bob_key)
        yield Denied(home, vault, clock, ids.principal_id, pending.id, bob_key)


# -- the Python API --------------------------------------------------------------------

LATER = dt.datetime(2099, 1, 1, tzinfo=dt.UTC)
CALLS: dict[str, Callable[[Denied], object]] = {
    "break_glass.activate": lambda d: d.vault.break_glass.activate("ap-none"),
    "export_auths.add": lambda d: d.vault.export_auths.add(
        holder="partner-b",
        kind="ITAR-TAA",
        reference="TAA-1",
        assets=["blade/part.bin"],
        destinations="DE",
        valid_until=LATER,
    ),
    "principals.add_machine": lambda d: d.vault.principals.add_machine(
        org="home", roles=["reader"], fingerprints=["ef" * 32]
    ),
    "principals.add_organisation": lambda d: d.vault.principals.add_organisation(
        "other", jurisdiction="DE"
    ),
    "principals.add_person": lambda d: d.vault.principals.add_person(
        org="home", display_name="Eve", citizenships=["DE"], location="DE", roles=["reader"]
    ),
    "policy.apply": lambda d: d.vault.policy.apply(d.pending),
    "approvals.show": lambda d: d.vault.approvals.show(d.pending),
    "approvals.ls": lambda d: d.vault.approvals.ls(),
    "approvals.approve": lambda d: d.vault.approvals.approve(d.pending, d.bob_key),
    "approvals.approve_signed": lambda d: d.vault.approvals.approve_signed(d.pending, b"{}"),
    "assets.classify": lambda d: d.vault.assets.classify("part.bin", export="ITAR:XI"),
    "projects.create": lambda d: d.vault.projects.create("other", residency="DE"),
    "tokens.create": lambda d: d.vault.tokens.create(
        label="ci", scopes=["read"], ttl=dt.timedelta(days=1)
    ),
    "erasure.erase": lambda d: d.vault.erasure.erase("ap-none"),
    "access.explain": lambda d: d.vault.access.explain("req-0000000000000000"),
    "export_auths.ls": lambda d: d.vault.export_auths.ls(),
    "assets.fsck": lambda d: d.vault.assets.fsck(),
    "assets.get": lambda d: d.vault.assets.get("part.bin", io.BytesIO()),
    "licences.grant": lambda d: d.vault.licences.grant(
        licensee="partner-b",
        assets=["blade/part.bin"],
        actions=["read"],
        territory="DE",
        purpose="tooling",
        valid_from=d.clock.now(),
        valid_until=LATER,
    ),
    "ledger.checkpoint": lambda d: d.vault.ledger.checkpoint(),
    "ledger.entry": lambda d: d.vault.ledger.entry(0),
    "ledger.key": lambda d: d.vault.ledger.key(),
    "ledger.ensure_key": lambda d: d.vault.ledger.ensure_key(),
    "ledger.prove_consistency": lambda d: d.vault.ledger.prove_consistency(1, 1),
    "ledger.prove_inclusion": lambda d: d.vault.ledger.prove_inclusion(0),
    "ledger.verify": lambda d: d.vault.ledger.verify(),
    "ledger.repair": lambda d: d.vault.ledger.repair(drop_uncovered=True),
    "ledger.ls": lambda d: d.vault.ledger.ls(),
    "ledger.collect": lambda d: d.vault.ledger.collect(),
    "ledger.follow": lambda d: d.vault.ledger.follow(lambda _done: None, ticks=1),
    "witnesses.add": lambda d: d.vault.witnesses.add(
        "w1", url="https://w.example", vkey="x", cacert=d.home
    ),
    "witnesses.rm": lambda d: d.vault.witnesses.rm("w1"),
    "witnesses.ls": lambda d: d.vault.witnesses.ls(),
    "ledger.export": lambda d: d.vault.ledger.export(d.home.parent / "export"),
    "vetting.import_record": lambda d: d.vault.vetting.import_record(
        ISSUER.record(d.admin, now=d.clock.now())
    ),
    "licences.show": lambda d: d.vault.licences.show("L-1"),
    "licences.ls": lambda d: d.vault.licences.ls(),
    "assets.ls": lambda d: d.vault.assets.ls(),
    "principals.organisations": lambda d: d.vault.principals.organisations(),
    "principals.show": lambda d: d.vault.principals.show(d.admin),
    "principals.ls": lambda d: d.vault.principals.ls(),
    "projects.show": lambda d: d.vault.projects.show("blade"),
    "projects.ls": lambda d: d.vault.projects.ls(),
    "assets.put": lambda d: d.vault.assets.put(io.BytesIO(b"v2"), project="blade", name="part.bin"),
    "approvals.reject": lambda d: d.vault.approvals.reject(d.pending, d.bob_key),
    "holds.release": lambda d: d.vault.holds.release(d.pending),
    "holds.request_release": lambda d: d.vault.holds.request_release(d.admin, reason="closed"),
    "erasure.request": lambda d: d.vault.erasure.request(d.admin, reason="leaver"),
    "holds.set": lambda d: d.vault.holds.set(d.admin, until=LATER, reason="case 1"),
    "approvals.reject_signed": lambda d: d.vault.approvals.reject_signed(d.pending, b"{}"),
    "break_glass.request": lambda d: d.vault.break_glass.request(
        assets=["blade/part.bin"], reason="fire", duration=dt.timedelta(minutes=5)
    ),
    "policy.request_apply": lambda d: d.vault.policy.request_apply(DENY_ALL),
    "principals.resume": lambda d: d.vault.principals.resume(d.admin),
    "break_glass.revoke": lambda d: d.vault.break_glass.revoke("bg-none"),
    "export_auths.revoke": lambda d: d.vault.export_auths.revoke("EA-1"),
    "licences.revoke": lambda d: d.vault.licences.revoke("L-1"),
    "tokens.revoke": lambda d: d.vault.tokens.revoke("0" * 16),
    "assets.rm": lambda d: d.vault.assets.rm("part.bin"),
    "projects.set": lambda d: d.vault.projects.set("blade", replicas=1),
    "principals.set_signing_key": lambda d: d.vault.principals.set_signing_key(
        d.admin, encode_vkey(d.bob_key.verifier)
    ),
    "policy.show": lambda d: d.vault.policy.show(),
    "principals.suspend": lambda d: d.vault.principals.suspend(d.admin),
    "tokens.ls": lambda d: d.vault.tokens.ls(),
    "assets.versions": lambda d: d.vault.assets.versions("part.bin"),
    "access.what_if": lambda d: d.vault.access.what_if(
        principal=d.admin, action="read", asset="part.bin"
    ),
}


def _reachable_from_python(vault: Vault) -> set[str]:
    """Every operation a caller reaches through the vault's public attributes."""
    found: set[str] = set()
    for name in dir(vault):
        if name.startswith("_") or name in EXEMPT_MEMBERS:
            continue
        group = getattr(vault, name)
        assert isinstance(group, Group), f"vault.{name} is neither a group nor exempt"
        for attr in dir(group):
            if not attr.startswith("_"):
                bound = getattr(group, attr)
                assert isinstance(bound, Bound), f"vault.{name}.{attr} is not a table entry"
                assert bound.operation.name == f"{name}.{attr}"
                assert OPERATIONS[bound.operation.name] is bound.operation
                found.add(bound.operation.name)
    return found


def _reachable_from_cli() -> set[str]:
    """Every vault operation the CLI's sources call (``v.<group>.<operation>``)."""
    cli = Path(forgekeep.cli.__file__).parent
    groups = "|".join(GROUPS)
    pattern = re.compile(rf"\b(?:v|vault|opened)\.({groups})\.(\w+)\b")
    return {f"{g}.{a}" for f in cli.glob("*.py") for g, a in pattern.findall(f.read_text())}


def test_every_operation_of_the_python_api_is_in_the_table(denied: Denied) -> None:
    assert _reachable_from_python(denied.vault) == set(OPERATIONS)


def test_every_operation_the_cli_calls_is_in_the_table() -> None:
    called = _reachable_from_cli()
    assert called, "the CLI calls the vault's groups"
    assert called <= set(OPERATIONS), called - set(OPERATIONS)


def test_every_table_entry_is_decided_or_says_why() -> None:
    for op in OPERATIONS.values():
        if op.action is None:
            assert op.undecided, f"{op.name} names no action and no reason"
        else:
            assert op.action in SPECS
            assert op.spec is SPECS[op.action]


def test_every_decided_operation_is_refused_under_deny_all() -> None:
    decided = {name for name, op in OPERATIONS.items() if op.action is not None}
    assert set(CALLS) == decided


def _last_event(d: Denied) -> Event:
    with context_of(d.vault).sessions() as session:
        row = session.scalars(select(Event).order_by(Event.seq.desc()).limit(1)).first()
    assert row is not None
    return row


def _true_policy(vault: Vault, request_id: str, stored: str) -> str:
    """The refusal's policy ids; a tenant's own reasons are sealed (they fail closed)."""
    detail = json.loads(stored)
    assert detail["policy"] == SEALED_POLICY, "a tenant policy's reason is never open"
    ctx = context_of(vault)
    with ctx.sessions() as session:
        opened = open_fields(session, ctx.key_manager, ctx.tenant_id, detail, request_id)
    assert opened is not None
    return opened["policy"]


@pytest.mark.parametrize("method", sorted(CALLS))
def test_deny_all_refuses_every_operation(denied: Denied, method: str) -> None:
    with pytest.raises(AccessDeniedError) as caught:
        CALLS[method](denied)
    assert caught.value.code.startswith("FK-AUTHZ")
    assert "deny-all" in caught.value.reasons
    event = _last_event(denied)
    assert (event.request_id, event.outcome) == (caught.value.request_id, "denied")
    assert "site/deny-all" in _true_policy(denied.vault, event.request_id, event.detail)


# -- the CLI -------------------------------------------------------------------------

ARGS: dict[str, list[str]] = {
    "put": ["{file}", "--project", "p1", "--name", "part.bin"],
    "get": ["part.bin", "-o", "{out}"],
    "ls": [],
    "versions": ["part.bin"],
    "rm": ["part.bin"],
    "classify": ["part.bin", "--export", "EAR99"],
    "fsck": [],
    "status": [],
    "projects create": ["other", "--residency", "DE"],
    "projects ls": [],
    "projects show": ["p1"],
    "projects set": ["p1", "--replicas", "1"],
    "principals add": ["org", "--name", "other", "--jurisdiction", "DE"],
    "principals ls": [],
    "principals show": ["{admin}"],
    "principals suspend": ["{admin}"],
    "principals resume": ["{admin}"],
    "principals vet": ["{record}"],
    "principals set-key": ["{admin}", "{vkey}"],
    "principals erase": ["{admin}", "--reason", "leaver"],
    "principals hold": ["{admin}", "--until", "2099-01-01", "--reason", "case 1"],
    "tokens create": ["--label", "ci", "--scope", "read"],
    "tokens ls": [],
    "tokens revoke": ["0000000000000000"],
    "policy apply": ["{policy}"],
    "policy show": [],
    "approvals ls": [],
    "approvals show": ["ap-none"],
    "approvals approve": ["ap-none", "--key", "{key}"],
    "approvals reject": ["ap-none", "--key", "{key}"],
    "licences grant": [
        "--to",
        "home",
        "--asset",
        "p1/part.bin",
        "--action",
        "read",
        "--territory",
        "DE",
        "--purpose",
        "tooling",
        "--from",
        "2026-01-01",
        "--until",
        "2099-01-01",
    ],
    "licences revoke": ["L-1"],
    "licences ls": [],
    "licences show": ["L-1"],
    "export-auth add": [
        "--holder",
        "home",
        "--kind",
        "ITAR-TAA",
        "--reference",
        "TAA-1",
        "--asset",
        "p1/part.bin",
        "--destinations",
        "DE",
        "--until",
        "2099-01-01",
    ],
    "export-auth revoke": ["EA-1"],
    "export-auth ls": [],
    "access explain": ["--request", "req-0000000000000000"],
    "ledger checkpoint": [],
    "ledger key": [],
    "ledger entry": ["0"],
    "ledger prove inclusion": ["0"],
    "ledger prove consistency": ["1", "1"],
    "ledger verify": [],
    "ledger repair": ["--drop-uncovered"],
    "ledger ls": [],
    "ledger witnesses add": [
        "w1",
        "--url",
        "https://w.example",
        "--vkey",
        "x",
        "--cacert",
        "{policy}",
    ],
    "ledger witnesses rm": ["w1"],
    "ledger witnesses ls": [],
    "ledger witnesses status": [],
    "ledger export": ["{out}.d"],
    "access break-glass request": ["--asset", "p1/part.bin", "--reason", "fire"],
    "access break-glass activate": ["ap-none"],
    "access break-glass revoke": ["bg-none"],
}


def _leaf_commands() -> set[str]:
    found: set[str] = set()

    def walk(command: click.Command, path: list[str]) -> None:
        subs = getattr(command, "commands", None)
        if subs:
            for name, sub in subs.items():
                if not (len(path) == 0 and name == "licenses"):  # the alias of `licences`
                    walk(sub, [*path, name])
        else:
            found.add(" ".join(path))

    walk(typer.main.get_command(app), [])
    return found


def test_every_command_is_listed_or_exempt() -> None:
    assert _leaf_commands() == set(ARGS) | set(EXEMPT_COMMANDS)


@pytest.fixture(scope="module")
def denied_cli(tmp_path_factory: pytest.TempPathFactory, xdg: Path) -> dict[str, str]:
    """A CLI workspace with an asset, under a deny-all policy applied with an approval."""
    root = tmp_path_factory.mktemp("cli-coverage")
    home = root / "ws"
    created = run_subprocess(["--workspace", str(home), "--json", "init", *CHEAP_KDF], xdg=xdg)
    admin = created.ok().json()["principal_id"]
    vet_through_cli(home, admin, xdg=xdg)
    w = ["--workspace", str(home)]
    run_subprocess([*w, "projects", "create", "p1", "--residency", "DE"], xdg=xdg).ok()
    (root / "part.bin").write_bytes(b"part")
    run_subprocess([*w, "put", str(root / "part.bin"), "--project", "p1"], xdg=xdg).ok()
    bob_key = generate_signer("bob")
    with open_vault(home, passphrase=CLI_PASSPHRASE.encode()) as vault:
        bob = vault.principals.add_person(
            org="home", display_name="Bob", citizenships=["DE"], location="DE", roles=["approver"]
        ).id
        ISSUER.vet(vault, bob, ManualClock(dt.datetime.now(dt.UTC)))
        vault.principals.set_signing_key(bob, encode_vkey(bob_key.verifier))
        _apply_deny_all(vault, bob, bob_key)
    key_file = root / "admin.key"
    run_subprocess(["keygen", "ada", "-o", str(key_file)], xdg=xdg).ok()
    (root / "policy.cedar").write_text(DENY_ALL)
    (root / "record.json").write_bytes(ISSUER.record(admin, now=dt.datetime.now(dt.UTC)))
    return {
        "home": str(home),
        "file": str(root / "part.bin"),
        "out": str(root / "out.bin"),
        "admin": admin,
        "record": str(root / "record.json"),
        "vkey": encode_vkey(bob_key.verifier),
        "policy": str(root / "policy.cedar"),
        "key": str(key_file),
    }


@pytest.mark.parametrize("command", sorted(ARGS))
def test_deny_all_refuses_every_command(
    fk: InProcess, denied_cli: dict[str, str], command: str
) -> None:
    args = [a.format(**denied_cli) for a in ARGS[command]]
    result = fk("--workspace", denied_cli["home"], *command.split(), *args)
    message = result.error("FK-AUTHZ-001", 3)
    assert "deny-all" in message
    rows = query(
        Path(denied_cli["home"]),
        "SELECT outcome, detail, request_id FROM events ORDER BY seq DESC LIMIT 1",
    )
    assert rows[0][0] == "denied"
    with open_vault(Path(denied_cli["home"]), passphrase=CLI_PASSPHRASE.encode()) as vault:
        assert "site/deny-all" in _true_policy(vault, rows[0][2], rows[0][1])
    assert not Path(denied_cli["out"]).exists()
