"""``tokens create|ls|revoke`` through the CLI; a token acts via FORGEKEEP_TOKEN(_FILE)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fk_cli_harness import REQUEST_ID, InProcess, query


@pytest.fixture(autouse=True)
def _private_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def test_create_prints_the_token_once(fk: InProcess, ws: Path) -> None:
    w = ("--workspace", str(ws))
    created = fk(*w, "tokens", "create", "--label", "ci", "--scope", "read", "--ttl", "7d")
    created.ok()
    (line,) = [x for x in created.out.splitlines() if x.startswith("token ")]
    text = line.split()[-1]
    assert text.startswith("fkt_")
    assert "cannot" in created.stderr or "only time" in created.stderr
    token_id = text.split("_")[1]

    listed = fk(*w, "tokens", "ls", "--json").json()
    assert [t["id"] for t in listed] == [token_id]
    assert listed[0]["scopes"] == ["read"]
    assert text not in fk(*w, "tokens", "ls").ok().out
    assert text not in str(listed)
    assert all(text[20:] not in str(row) for row in query(ws, "SELECT * FROM events"))

    as_json = fk(*w, "tokens", "create", "--label", "j", "--scope", "write", "--json").json()
    assert as_json["token"].startswith(f"fkt_{as_json['id']}_")
    assert as_json["scopes"] == ["write"]

    revoked = fk(*w, "tokens", "revoke", token_id, "--json").json()
    assert revoked["status"] == "revoked"
    fk(*w, "tokens", "revoke", token_id).error("FK-CONFLICT-001", 1)


def test_a_token_acts_and_a_revoked_one_is_refused(fk: InProcess, ws: Path, tmp_path: Path) -> None:
    w = ("--workspace", str(ws))
    made = fk(*w, "tokens", "create", "--label", "env", "--scope", "admin", "--json").json()
    text, token_id = made["token"], made["id"]
    fk(*w, "ls", env={"FORGEKEEP_TOKEN": text}).ok()
    token_file = tmp_path / "token"
    token_file.write_text(text + "\n")
    fk(*w, "ls", env={"FORGEKEEP_TOKEN_FILE": str(token_file)}).ok()
    (row,) = fk(*w, "tokens", "ls", "--json").json()
    assert row["last_used_at"] is not None

    fk(*w, "tokens", "revoke", token_id).ok()
    refused = fk(*w, "ls", env={"FORGEKEEP_TOKEN": text})
    message = refused.error("FK-AUTHZ-002", 3)
    assert REQUEST_ID.search(message)
    assert text not in refused.stderr
    rows = query(ws, "SELECT outcome, target FROM events WHERE action = 'auth.token'")
    assert rows == [("denied", token_id)]


@pytest.mark.parametrize(
    ("args", "code", "exit_code"),
    [
        (("--ttl", "91d"), "FK-LIMIT-001", 1),
        (("--ttl", "forever"), "FK-USAGE-001", 2),
        (("--ttl", "0d"), "FK-USAGE-001", 2),
        (("--scope", "root"), "FK-USAGE-001", 2),
        (("--label", "bad\tlabel"), "FK-USAGE-002", 2),
        (("--principal", "p-nobody"), "FK-NOTFOUND-001", 1),
    ],
)
def test_bad_create_is_refused(
    fk: InProcess, ws: Path, args: tuple[str, ...], code: str, exit_code: int
) -> None:
    base = {"--label": "ok", "--scope": "read"}
    argv: list[str] = []
    for key, value in base.items():
        if key not in args:
            argv += [key, value]
    fk("--workspace", str(ws), "tokens", "create", *argv, *args).error(code, exit_code)
    assert fk("--workspace", str(ws), "tokens", "ls", "--json").json() == []
