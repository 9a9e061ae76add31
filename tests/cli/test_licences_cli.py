"""``licences grant|revoke|ls|show`` (alias ``licenses``) and ``export-auth add|revoke|ls``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fk_cli_harness import PROJECT, REQUEST_ID, InProcess, query

SOON = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).date().isoformat()


@pytest.fixture
def w(fk: InProcess, ws: Path, tmp_path: Path) -> tuple[str, str]:
    """The workspace options, with organisation acme and asset p1/part.step."""
    opts = ("--workspace", str(ws))
    part = tmp_path / "part.step"
    part.write_bytes(b"solid part")
    fk(*opts, "put", str(part), "-p", PROJECT).ok()
    fk(*opts, "principals", "add", "org", "--name", "acme", "--jurisdiction", "DE").ok()
    return opts


def _grant(fk: InProcess, w: tuple[str, str], *extra: str) -> dict[str, object]:
    data: dict[str, object] = fk(
        *w, "licences", "grant", "--to", "acme", "--asset", f"{PROJECT}/part.step",
        "--action", "read", "--action", "manufacture", "--territory", "EEA+CH",
        "--purpose", "tooling", "--from", "2026-01-01T00:00:00+01:00", "--until", SOON,
        *extra, "--json",
    ).json()  # fmt: skip
    return data


def test_grant_ls_show_revoke(fk: InProcess, w: tuple[str, str], ws: Path) -> None:
    info = _grant(fk, w, "--id", "L-123", "--project", PROJECT)
    assert info["id"] == "L-123"
    assert info["actions"] == ["manufacture", "read"]
    assert info["territory"] == "EEA+CH"
    assert info["valid_from"] == "2025-12-31T23:00:00+00:00"
    assert info["valid_until"] == f"{SOON}T00:00:00+00:00"
    assert info["status"] == "active"
    asset_id = query(ws, "SELECT id FROM assets WHERE name = 'part.step'")[0][0]
    assert info["assets"] == [asset_id]
    assert len(info["projects"]) == 1  # type: ignore[arg-type]

    listed = fk(*w, "licences", "ls", "--json").json()
    assert [i["id"] for i in listed] == ["L-123"]
    table = fk(*w, "licences", "ls").ok().out
    assert "L-123" in table
    assert "tooling" in table
    shown = fk(*w, "licences", "show", "L-123").ok().out
    assert "manufacture,read" in shown
    assert "EEA+CH" in shown

    revoked = fk(*w, "licences", "revoke", "L-123", "--json").json()
    assert revoked["status"] == "revoked"
    assert fk(*w, "licences", "ls", "--json").json() == []
    assert [i["id"] for i in fk(*w, "licences", "ls", "--all", "--json").json()] == ["L-123"]
    message = fk(*w, "licences", "revoke", "L-123").error("FK-CONFLICT-001", 1)
    assert REQUEST_ID.search(message)


def test_licenses_alias_is_hidden_but_works(fk: InProcess, w: tuple[str, str]) -> None:
    generated = _grant(fk, w)["id"]
    assert isinstance(generated, str)
    assert generated.startswith("L-")
    assert fk(*w, "licenses", "show", generated, "--json").json()["id"] == generated
    assert [i["id"] for i in fk(*w, "--json", "licenses", "ls").json()] == [generated]
    top = fk("--help").ok().out
    assert "licences" in top
    assert "licenses" not in top
    assert "export-auth" in top


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--until", "2027-13-01"),
        ("--until", "next tuesday"),
        ("--until", "2027-01-31T12:00:00"),
        ("--from", "2026-01-01T00:00"),
    ],
)
def test_bad_dates_are_usage_errors(
    fk: InProcess, w: tuple[str, str], ws: Path, flag: str, value: str
) -> None:
    args = {"--from": "2026-01-01", "--until": SOON} | {flag: value}
    result = fk(
        *w, "licences", "grant", "--to", "acme", "--asset", f"{PROJECT}/part.step",
        "--action", "read", "--territory", "DE", "--purpose", "tooling",
        "--from", args["--from"], "--until", args["--until"],
    )  # fmt: skip
    message = result.error("FK-USAGE-001", 2)
    assert flag in message
    assert "\n" not in message
    assert query(ws, "SELECT count(*) FROM licences") == [(0,)]


def test_grant_refusal_names_its_request(fk: InProcess, w: tuple[str, str], ws: Path) -> None:
    result = fk(
        *w, "licences", "grant", "--to", "acme", "--asset", f"{PROJECT}/part.step",
        "--action", "fly", "--territory", "DE", "--purpose", "tooling",
        "--from", "2026-01-01", "--until", SOON,
    )  # fmt: skip
    message = result.error("FK-USAGE-001", 2)
    assert "fly" in message
    assert REQUEST_ID.search(message)
    rows = query(ws, "SELECT outcome FROM events WHERE action = 'licence.grant'")
    assert rows == [("error",)]
    missing = fk(*w, "licences", "show", "L-404")
    assert "L-404" in missing.error("FK-NOTFOUND-001", 1)


def test_export_auth_add_ls_revoke(fk: InProcess, w: tuple[str, str]) -> None:
    added = fk(
        *w, "export-auth", "add", "--holder", "acme", "--kind", "ITAR-TAA",
        "--reference", "TAA-2026-0042", "--project", PROJECT, "--destinations", "GB+CA",
        "--until", SOON, "--covers-126-18", "--id", "TAA-42", "--json",
    ).json()  # fmt: skip
    assert added["id"] == "TAA-42"
    assert added["covers_126_18"] is True
    assert added["destinations"] == "GB+CA"
    table = fk(*w, "export-auth", "ls").ok().out
    assert "TAA-2026-0042" in table
    assert [i["id"] for i in fk(*w, "export-auth", "ls", "--json").json()] == ["TAA-42"]
    assert fk(*w, "export-auth", "revoke", "TAA-42", "--json").json()["status"] == "revoked"
    assert fk(*w, "export-auth", "ls", "--json").json() == []
    assert len(fk(*w, "export-auth", "ls", "--all", "--json").json()) == 1


def test_export_auth_126_18_needs_itar(fk: InProcess, w: tuple[str, str], ws: Path) -> None:
    result = fk(
        *w, "export-auth", "add", "--holder", "acme", "--kind", "EAR-licence",
        "--reference", "D123456", "--asset", f"{PROJECT}/part.step", "--destinations", "GB",
        "--until", SOON, "--covers-126-18",
    )  # fmt: skip
    assert "126.18" in result.error("FK-USAGE-001", 2)
    assert query(ws, "SELECT count(*) FROM export_auths") == [(0,)]
    bad = fk(
        *w, "export-auth", "add", "--holder", "acme", "--kind", "EAR-licence",
        "--reference", "D123456", "--asset", f"{PROJECT}/part.step", "--destinations", "GB",
        "--until", "tomorrow",
    )  # fmt: skip
    assert "--until" in bad.error("FK-USAGE-001", 2)
