"""``principals add|ls|show|suspend|resume|vet`` and ``whoami`` through the CLI."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from fk_cli_harness import REQUEST_ID, InProcess, query

from forgekeep.config import CONFIG_NAME
from forgekeep.crypto.signed import generate_signer, sign
from forgekeep.testing.vetting import ISSUER


def test_principals_happy_path(fk: InProcess, ws: Path, tmp_path: Path) -> None:
    w = ("--workspace", str(ws))
    issuer = ISSUER.signer  # the workspace's trusted test issuer
    org = fk(*w, "principals", "add", "org", "--name", "acme", "--jurisdiction", "de", "--json")
    assert org.json()["jurisdiction"] == "DE"
    person = fk(
        *w, "principals", "add", "person", "--org", "acme", "--name", "Grace Hopper",
        "--citizenship", "US", "--citizenship", "GB", "--location", "DE",
        "--role", "writer", "--training", "itar-101", "--json",
    ).json()  # fmt: skip
    pid = person["id"]
    assert person["roles"] == ["writer"]
    machine = fk(
        *w, "principals", "add", "machine", "--org", "acme", "--role", "reader",
        "--fingerprint", "ab" * 32, "--json",
    ).json()  # fmt: skip
    assert machine["fingerprints"] == ["ab" * 32]

    listed = fk(*w, "principals", "ls", "--json").json()
    assert {p["id"] for p in listed["principals"]} >= {pid, machine["id"]}
    assert "Grace" not in fk(*w, "principals", "ls").ok().out
    shown = fk(*w, "principals", "show", pid, "--json").json()
    assert shown["attributes"]["display_name"] == "Grace Hopper"

    assert fk(*w, "principals", "suspend", pid, "--json").json()["status"] == "suspended"
    assert fk(*w, "principals", "resume", pid, "--json").json()["status"] == "active"

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    record = tmp_path / "vetting.json"
    record.write_bytes(
        sign(
            issuer,
            "vetting-record",
            {
                "record_id": "vr-cli-1",
                "subject": pid,
                "issuer": "security-office.test",
                "evidence": "case-7",
                "clearance": 2,
                "expires": (now + dt.timedelta(days=30)).isoformat(),
            },
        ).to_json()
    )
    assert fk(*w, "principals", "vet", str(record), "--json").json()["clearance"] == 2
    assert fk(*w, "principals", "show", pid, "--json").json()["principal"]["clearance"] == 2

    me = fk(*w, "whoami", "--json").json()
    assert me["roles"] == ["admin"]
    assert me["status"] == "active"
    assert "principal" in fk(*w, "whoami").ok().out


def test_vetting_with_no_trusted_issuer_is_refused(fk: InProcess, ws: Path, tmp_path: Path) -> None:
    config = ws / CONFIG_NAME
    text = re.sub(r"trusted_issuers = \[.*\]", "trusted_issuers = []", config.read_text())
    config.write_text(text)
    record = tmp_path / "vetting.json"
    record.write_bytes(
        sign(generate_signer("rogue"), "vetting-record", {"record_id": "x"}).to_json()
    )
    message = fk("--workspace", str(ws), "principals", "vet", str(record)).error("FK-CONFIG-001", 1)
    assert REQUEST_ID.search(message)
    rows = query(ws, "SELECT outcome FROM events WHERE action = 'principal.vet'")
    assert rows[-1] == ("error",)  # after the harness's own vetting of the admin


def test_bad_role_is_a_usage_error(fk: InProcess, ws: Path) -> None:
    w = ("--workspace", str(ws))
    fk(*w, "principals", "add", "org", "--name", "acme", "--jurisdiction", "DE").ok()
    fk(
        *w, "principals", "add", "machine", "--org", "acme", "--role", "overlord",
        "--fingerprint", "ab" * 32,
    ).error("FK-USAGE-001", 2)  # fmt: skip
