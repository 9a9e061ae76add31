"""``approvals``, ``principals set-key``, ``policy apply|show`` and break-glass through the CLI."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from fk_cli_harness import REQUEST_ID, InProcess, query
from typer.testing import CliRunner

from forgekeep.cli.approvals import break_glass_app
from forgekeep.crypto.signed import SIGNER_KEY_PREFIX, parse_signer_key, sign
from forgekeep.testing.vetting import ISSUER

POLICY = """\
@id("site/no-manufacture-for-x")
@reason("manufacture-barred")
forbid (principal, action == Forgekeep::Action::"manufacture", resource)
when { principal has org && principal.org == Forgekeep::Organisation::"org-x" };
"""


def _approver(fk: InProcess, ws: Path, tmp_path: Path, name: str) -> tuple[str, Path]:
    """A new person with a registered approval key: (pseudonym, key file)."""
    w = ("--workspace", str(ws))
    orgs = fk(*w, "principals", "ls", "--json").json()["organisations"]
    if "acme" not in {o["name"] for o in orgs}:
        fk(*w, "principals", "add", "org", "--name", "acme", "--jurisdiction", "DE").ok()
    person = fk(
        *w, "principals", "add", "person", "--org", "acme", "--name", name,
        "--citizenship", "DE", "--location", "DE", "--role", "admin", "--json",
    ).json()["id"]  # fmt: skip
    record = tmp_path / f"{name}-vetting.json"
    record.write_bytes(ISSUER.record(person, now=dt.datetime.now(dt.UTC)))
    fk(*w, "principals", "vet", str(record)).ok()  # approvers must be vetted
    keyfile = tmp_path / f"{name}.key"
    vkey = fk("keygen", f"approver-{name}", "-o", str(keyfile)).ok().out.strip()
    out = fk(*w, "principals", "set-key", person, vkey, "--json").json()
    assert out == {"principal": person, "key_id": "+".join(vkey.split("+")[:2])}
    return person, keyfile


def _me(fk: InProcess, ws: Path) -> str:
    return str(fk("--workspace", str(ws), "whoami", "--json").json()["principal"])


def test_policy_apply_with_one_approval(fk: InProcess, ws: Path, tmp_path: Path) -> None:
    w = ("--workspace", str(ws))
    _, bob_key = _approver(fk, ws, tmp_path, "bob")
    _, own_key = _approver(fk, ws, tmp_path, "spare")
    me = _me(fk, ws)
    own_vkey = fk("keygen", "approver-me", "-o", str(tmp_path / "me.key")).ok().out.strip()
    fk(*w, "principals", "set-key", me, own_vkey).ok()
    policy = tmp_path / "site.cedar"
    policy.write_text(POLICY)

    requested = fk(*w, "policy", "apply", str(policy))
    approval = requested.ok().out.strip()
    assert "needs 1 approval" in requested.stderr
    listed = fk(*w, "approvals", "ls", "--status", "pending", "--json").json()
    assert [a["id"] for a in listed] == [approval]
    shown = fk(*w, "approvals", "show", approval, "--json").json()
    assert shown["payload"]["text"] == POLICY
    assert shown["to_sign"]["approval_id"] == approval

    # The requester's own key is refused, with a request id, and journaled.
    denied = fk(*w, "approvals", "approve", approval, "--key", str(tmp_path / "me.key"))
    assert "own request" in denied.error("FK-AUTHZ-001", 3)
    assert REQUEST_ID.search(denied.stderr.splitlines()[0])
    fk(*w, "policy", "apply", "--approval", approval).error("FK-AUTHZ-003", 3)

    waited = fk(*w, "approvals", "show", approval, "--wait", "1", "--json")
    assert waited.code == 4  # still pending when the wait ran out
    assert waited.parsed()["approval"]["status"] == "pending"
    fk(*w, "approvals", "show", approval, "--wait", "0").error("FK-USAGE-001", 2)
    result = fk(*w, "approvals", "approve", approval, "--key", str(bob_key))
    assert "approved" in result.ok().out
    done = fk(*w, "approvals", "show", approval, "--wait", "60", "--json").ok().json()
    assert done["approval"]["status"] == "approved"
    assert SIGNER_KEY_PREFIX not in result.out + result.stderr
    applied = fk(*w, "policy", "apply", "--approval", approval, "--json").json()
    assert applied["approval_id"] == approval
    fk(*w, "policy", "apply", "--approval", approval).error("FK-AUTHZ-003", 3)
    view = fk(*w, "policy", "show", "--json").json()
    assert view["active"]["sha256"] == applied["sha256"]
    assert "customer policy version" in fk(*w, "policy", "show").ok().out
    rows = query(ws, "SELECT outcome FROM events WHERE action = 'approval.decide'")
    assert rows == [("denied",), ("ok",)]
    assert own_key.exists()


def test_reject_and_offline_signed(fk: InProcess, ws: Path, tmp_path: Path) -> None:
    w = ("--workspace", str(ws))
    bob, bob_key = _approver(fk, ws, tmp_path, "bob")
    policy = tmp_path / "site.cedar"
    policy.write_text(POLICY)
    first, second, third = (
        fk(*w, "policy", "apply", str(policy), "--json").json()["id"] for _ in range(3)
    )

    rejected = fk(*w, "approvals", "reject", first, "--key", str(bob_key), "--json").json()
    assert (rejected["status"], rejected["approvals"]) == ("rejected", 0)
    fk(*w, "approvals", "approve", first, "--key", str(bob_key)).error("FK-CONFLICT-001", 1)

    # Offline: sign what `approvals show` says to sign, then submit the file.
    to_sign = fk(*w, "approvals", "show", second, "--json").json()["to_sign"]
    now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
    payload = {**to_sign, "verdict": "approve", "approver": bob, "signed_at": now}
    signer = parse_signer_key(bob_key.read_text().strip())
    signed = tmp_path / "verdict.json"
    signed.write_bytes(sign(signer, "approval", payload).to_json())
    fk(*w, "approvals", "approve", third, "--signed", str(signed)).error("FK-INTEGRITY-001", 1)
    fk(*w, "approvals", "reject", second, "--signed", str(signed)).error("FK-USAGE-001", 2)
    out = fk(*w, "approvals", "approve", second, "--signed", str(signed), "--json").json()
    assert out["status"] == "approved"
    table = fk(*w, "approvals", "ls").ok().out
    assert all(ap in table for ap in (first, second, third))


def test_usage_errors(fk: InProcess, ws: Path, tmp_path: Path) -> None:
    w = ("--workspace", str(ws))
    fk(*w, "approvals", "approve", "ap-x").error("FK-USAGE-001", 2)
    key = tmp_path / "k.key"
    key.write_text("PRIVATE+KEY+garbage-that-must-not-echo\n")
    result = fk(*w, "approvals", "approve", "ap-x", "--key", str(key))
    assert "garbage-that-must-not-echo" not in result.stderr
    assert result.code == 1
    fk(*w, "approvals", "approve", "ap-x", "--key", str(tmp_path / "none")).error("FK-USAGE-003", 2)
    fk(*w, "policy", "apply").error("FK-USAGE-001", 2)
    fk(*w, "approvals", "show", "ap-nope").error("FK-NOTFOUND-001", 1)
    bad = tmp_path / "bad.cedar"
    bad.write_text("permit (principal, action, resource) oops;\n")
    assert ":" in fk(*w, "policy", "apply", str(bad)).error("FK-FORMAT-001", 1)
    fk(*w, "principals", "set-key", _me(fk, ws), "not-a-vkey").error("FK-FORMAT-001", 1)


@pytest.fixture
def _logs_to_stderr() -> Iterator[None]:
    # structlog's default logger prints to stdout, which would corrupt `--json` data;
    # the CLI is to route it to stderr centrally (reported), so this test does it here.
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    yield
    structlog.reset_defaults()


@pytest.mark.usefixtures("_logs_to_stderr")
def test_break_glass_commands(
    fk: InProcess, ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = ("--workspace", str(ws))
    source = tmp_path / "blade.step"
    source.write_bytes(b"turbine")
    fk(*w, "put", str(source), "--project", "p1").ok()
    keys = [_approver(fk, ws, tmp_path, n)[1] for n in ("bob", "carol")]
    monkeypatch.setenv("FORGEKEEP_HOME", str(ws))
    runner = CliRunner()
    requested = runner.invoke(
        break_glass_app,
        ["request", "--asset", "p1/blade.step", "--reason", "line down", "--minutes", "30",
         "--json"],
    )  # fmt: skip
    assert requested.exit_code == 0, requested.output
    approval = _json(requested.stdout)["id"]
    too_long = runner.invoke(
        break_glass_app, ["request", "--asset", "p1/blade.step", "--reason", "x",
                          "--minutes", "241"],
    )  # fmt: skip
    assert too_long.exit_code != 0
    for key in keys:
        fk(*w, "approvals", "approve", approval, "--key", str(key)).ok()
    activated = runner.invoke(break_glass_app, ["activate", approval, "--json"])
    assert activated.exit_code == 0, activated.output
    grant = _json(activated.stdout)
    assert grant["id"].startswith("bg-")
    revoked = runner.invoke(break_glass_app, ["revoke", grant["id"]])
    assert revoked.exit_code == 0, revoked.output


def _json(text: str) -> Any:
    return json.loads(text)


def test_lifting_a_legal_hold_needs_another_persons_approval(
    fk: InProcess, ws: Path, tmp_path: Path
) -> None:
    w = ("--workspace", str(ws))
    held, _ = _approver(fk, ws, tmp_path, "held")
    _, bob_key = _approver(fk, ws, tmp_path, "bob")
    placed = fk(*w, "principals", "hold", held, "--until", "2099-01-01", "--reason", "case 7")
    assert "held until 2099-01-01" in placed.ok().out
    fk(*w, "principals", "hold", held, "--until", "2098-01-01", "--reason", "shorter").error(
        "FK-CONFLICT-001", 1
    )
    fk(*w, "principals", "hold", held, "--release").error("FK-USAGE-001", 2)  # no reason
    fk(*w, "principals", "hold", "--release").error("FK-USAGE-001", 2)
    asked = fk(*w, "principals", "hold", held, "--release", "--reason", "settled", "--json")
    approval = asked.json()["id"]
    assert asked.json()["kind"] == "hold-release"
    fk(*w, "principals", "hold", "--release", "--approval", approval).error("FK-AUTHZ-003", 3)
    fk(*w, "principals", "erase", held, "--reason", "leaver").error("FK-CONFLICT-002", 1)
    fk(*w, "approvals", "approve", approval, "--key", str(bob_key)).ok()
    done = fk(*w, "principals", "hold", "--release", "--approval", approval)
    assert f"{held} released" in done.ok().out
    fk(*w, "principals", "hold", "--release", "--approval", approval).error("FK-AUTHZ-003", 3)
    events = query(
        ws,
        "SELECT outcome FROM events WHERE action = 'principal.hold' ORDER BY seq",
    )
    assert [row[0] for row in events].count("denied") == 2  # both refusals journaled
