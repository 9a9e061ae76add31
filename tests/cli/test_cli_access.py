"""``classify``, ``get --purpose``, ``access explain`` and ``whoami`` through the CLI."""

from __future__ import annotations

import re
from pathlib import Path

from fk_cli_harness import InProcess, query

REQUEST = re.compile(r"\(request (req-[0-9a-f]{16})\)")


def _with_part(fk: InProcess, ws: Path, tmp_path: Path) -> tuple[str, ...]:
    w = ("--workspace", str(ws))
    source = tmp_path / "part.step"
    source.write_bytes(b"ISO-10303-21; part")
    fk(*w, "put", str(source), "--project", "p1").ok()
    return w


def test_an_itar_refusal_is_explained_by_request_id(
    fk: InProcess, ws: Path, tmp_path: Path
) -> None:
    w = _with_part(fk, ws, tmp_path)
    out = tmp_path / "out.step"
    fk(*w, "get", "part.step", "-o", str(out)).ok()
    changed = fk(*w, "classify", "part.step", "--export", "itar:xi").ok()
    assert "none -> ITAR:XI" in changed.out
    message = fk(*w, "get", "part.step", "-o", str(tmp_path / "again.step")).error(
        "FK-AUTHZ-001", 3
    )
    assert "export-authorisation-missing" in message
    match = REQUEST.search(message)
    assert match is not None
    explained = fk(*w, "access", "explain", "--request", match.group(1)).ok().out
    assert "guard/itar-export-authorisation" in explained
    assert "denied" in explained
    data = fk(*w, "access", "explain", "--request", match.group(1), "--json").json()
    assert "export-authorisation-missing" in data["events"][0]["reasons"]
    rows = query(ws, "SELECT action FROM events ORDER BY seq DESC LIMIT 1")
    assert rows == [("access.explain",)]
    assert not (tmp_path / "again.step").exists()


def test_what_if_and_usage_errors(fk: InProcess, ws: Path, tmp_path: Path) -> None:
    w = _with_part(fk, ws, tmp_path)
    me = fk(*w, "whoami", "--json").json()
    assert (me["auth"], me["org"] is not None, me["scopes"]) == ("workspace", True, None)
    answer = fk(
        *w, "access", "explain", "--principal", me["principal"], "--action", "download",
        "--asset", "part.step", "--json",
    ).json()  # fmt: skip
    assert answer["allowed"] is True
    assert "baseline/owner-read" in answer["policies"]
    fk(*w, "access", "explain").error("FK-USAGE-001", 2)
    fk(*w, "access", "explain", "--principal", me["principal"]).error("FK-USAGE-001", 2)
    fk(*w, "classify", "part.step", "--export", "ITAR:XXX").error("FK-USAGE-001", 2)
    fk(*w, "get", "part.step", "-o", str(tmp_path / "x"), "--purpose", "Bad Purpose").error(
        "FK-USAGE-001", 2
    )
    assert not (tmp_path / "x").exists()
