"""``forgekeep keygen``: the private key goes to a 0600 file, only the vkey to stdout."""

from __future__ import annotations

import stat
from pathlib import Path

from fk_cli_harness import InProcess, temporaries

from forgekeep.crypto.signed import SIGNER_KEY_PREFIX, encode_vkey, parse_signer_key, parse_vkey


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_keygen_writes_a_0600_key_and_prints_the_matching_vkey(
    fk: InProcess, tmp_path: Path
) -> None:
    keyfile = tmp_path / "alice.key"
    result = fk("keygen", "approver-alice", "-o", str(keyfile)).ok()
    vkey = result.out.strip()
    assert parse_vkey(vkey).name == "approver-alice"
    assert SIGNER_KEY_PREFIX not in result.out
    assert SIGNER_KEY_PREFIX not in result.stderr
    assert _mode(keyfile) == 0o600
    signer = parse_signer_key(keyfile.read_text().strip())
    assert encode_vkey(signer.verifier) == vkey
    assert temporaries(tmp_path) == []


def test_keygen_json(fk: InProcess, tmp_path: Path) -> None:
    keyfile = tmp_path / "issuer.key"
    data = fk("--json", "keygen", "issuer.example.com", "-o", str(keyfile)).json()
    assert set(data) == {"name", "key_id", "vkey", "file"}
    assert data["name"] == "issuer.example.com"
    assert data["file"] == str(keyfile)
    assert data["vkey"].startswith(data["key_id"] + "+")
    signer = parse_signer_key(keyfile.read_text().strip())
    assert signer.key_id == data["key_id"]
    local = fk("keygen", "other", "-o", str(tmp_path / "o.key"), "--json").json()
    assert local["name"] == "other"


def test_keygen_refuses_to_overwrite_without_force(fk: InProcess, tmp_path: Path) -> None:
    keyfile = tmp_path / "k.key"
    keyfile.write_text("precious\n")
    result = fk("keygen", "alice", "-o", str(keyfile))
    assert "already exists" in result.error("FK-CONFLICT-001", 1)
    assert result.stdout == b""
    assert keyfile.read_text() == "precious\n"


def test_keygen_force_replaces_with_a_fresh_0600_key(fk: InProcess, tmp_path: Path) -> None:
    keyfile = tmp_path / "k.key"
    keyfile.write_text("old\n")
    keyfile.chmod(0o644)
    vkey = fk("keygen", "alice", "-o", str(keyfile), "--force").ok().out.strip()
    assert _mode(keyfile) == 0o600
    assert encode_vkey(parse_signer_key(keyfile.read_text().strip()).verifier) == vkey
    again = fk("keygen", "alice", "-o", str(keyfile), "--force").ok().out.strip()
    assert again != vkey


def test_keygen_never_writes_the_secret_to_stdout(fk: InProcess) -> None:
    result = fk("keygen", "alice", "-o", "-")
    assert "stdout" in result.error("FK-USAGE-001", 2)
    assert result.stdout == b""


def test_keygen_refuses_a_bad_name(fk: InProcess, tmp_path: Path) -> None:
    keyfile = tmp_path / "k.key"
    result = fk("keygen", "alice smith", "-o", str(keyfile))
    assert "invalid key name" in result.error("FK-USAGE-001", 2)
    assert not keyfile.exists()


def test_keygen_needs_an_output_file(fk: InProcess) -> None:
    result = fk("keygen", "alice")
    result.error("FK-USAGE-001", 2)
    assert result.stdout == b""


def test_keygen_into_a_missing_directory_fails_cleanly(fk: InProcess, tmp_path: Path) -> None:
    result = fk("keygen", "alice", "-o", str(tmp_path / "nope" / "k.key"))
    result.error("FK-STORE-001", 1)
    assert result.stdout == b""


def test_keygen_help_explains_what_goes_where(fk: InProcess) -> None:
    text = fk("keygen", "--help").ok().out
    assert "0600" in text
    assert "vkey" in text
