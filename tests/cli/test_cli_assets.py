"""``projects``, ``put``, ``get``, ``ls``, ``versions``, ``rm`` and ``fsck`` through the CLI."""

from __future__ import annotations

import io
import os
import re
import tomllib
from pathlib import Path

import pytest
from fk_cli_harness import (
    PASSPHRASE,
    PROJECT,
    REQUEST_ID,
    SITE,
    InProcess,
    Sub,
    blobs_under,
    temporaries,
)

import forgekeep
from forgekeep.errors import InvalidNameError

ASSET_LINE = re.compile(r"^(a-[0-9a-f]{24}) version (\d+)\n$")


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _put(fk: InProcess, ws: Path, path: Path, *extra: str) -> tuple[str, int]:
    result = fk("--workspace", str(ws), "put", str(path), "-p", PROJECT, *extra).ok()
    match = ASSET_LINE.match(result.out)
    assert match is not None, result
    return match.group(1), int(match.group(2))


# --- projects -------------------------------------------------------------------------------


def test_projects_create_ls_show_set(fk: InProcess, ws: Path) -> None:
    w = ("--workspace", str(ws))
    created = fk(*w, "projects", "create", "blade", "--residency", "EEA+CH", "--json").json()
    assert created["name"] == "blade"
    assert (created["residency"], created["replicas"], created["shred_domain"]) == (
        "EEA+CH",
        1,
        "project",
    )
    assert created["domain_key"].startswith("dk-")

    text = fk(*w, "projects", "create", "recipe", "--residency", "DE", "--replicas", "2").ok()
    assert re.search(r"^name\s+recipe$", text.out, re.MULTILINE)
    assert re.search(r"^replicas\s+2$", text.out, re.MULTILINE)

    names = [p["name"] for p in fk(*w, "projects", "ls", "--json").json()]
    assert names == ["blade", PROJECT, "recipe"]
    assert fk(*w, "--json", "projects", "ls").json() == fk(*w, "projects", "ls", "--json").json()
    table = fk(*w, "projects", "ls").ok().out
    assert "blade" in table
    assert "recipe" in table

    shown = fk(*w, "projects", "show", "blade", "--json").json()
    assert shown == created

    changed = fk(*w, "projects", "set", "blade", "--replicas", "3", "--json").json()
    assert (changed["replicas"], changed["residency"]) == (3, "EEA+CH")
    changed = fk(*w, "projects", "set", "blade", "--residency", "DE", "--json").json()
    assert (changed["replicas"], changed["residency"]) == (3, "DE")
    assert fk(*w, "projects", "show", "blade", "--json").json() == changed


def test_projects_errors(fk: InProcess, ws: Path) -> None:
    w = ("--workspace", str(ws))
    fk(*w, "projects", "create", PROJECT, "--residency", "DE").error("FK-CONFLICT-001", 1)
    fk(*w, "projects", "create", "Bad/Name", "--residency", "DE").error("FK-USAGE-002", 2)
    fk(*w, "projects", "create", "ok", "--residency", "germany").error("FK-USAGE-001", 2)
    fk(*w, "projects", "create", "ok", "--residency", "DE", "--replicas", "0").error(
        "FK-USAGE-001", 2
    )
    fk(*w, "projects", "create", "ok").error("FK-USAGE-001", 2)  # --residency is required
    fk(*w, "projects", "set", PROJECT, "--shred-domain", "tenant").error("FK-USAGE-001", 2)
    message = fk(*w, "projects", "show", "nope").error("FK-NOTFOUND-001", 1)
    assert REQUEST_ID.search(message), message
    fk(*w, "projects", "set", "nope", "--replicas", "2").error("FK-NOTFOUND-001", 1)
    assert [p["name"] for p in fk(*w, "projects", "ls", "--json").json()] == [PROJECT]


@pytest.mark.parametrize(
    "args",
    [
        ["projects", "create", "Bad/Name", "--residency", "DE"],
        ["projects", "set", PROJECT, "--residency", "germany"],
    ],
    ids=["create-bad-name", "set-bad-residency"],
)
def test_project_refusals_print_a_request_id(fk: InProcess, ws: Path, args: list[str]) -> None:
    result = fk("--workspace", str(ws), *args)
    assert result.code == 2, result
    assert REQUEST_ID.search(result.stderr.splitlines()[0]), result


# --- put, get, ls, versions -----------------------------------------------------------------


def test_put_twice_makes_two_versions(fk: InProcess, ws: Path, tmp_path: Path) -> None:
    path = _write(tmp_path / "blade.step", b"ISO-10303-21; rev A")
    asset, version = _put(fk, ws, path)
    assert version == 1
    path.write_bytes(b"ISO-10303-21; rev B, longer")
    again, version = _put(fk, ws, path)
    assert (again, version) == (asset, 2)

    out = tmp_path / "out.step"
    fk("--workspace", str(ws), "get", "blade.step@1", "-o", str(out)).ok()
    assert out.read_bytes() == b"ISO-10303-21; rev A"
    fk("--workspace", str(ws), "get", "blade.step", "-o", str(out)).ok()
    assert out.read_bytes() == b"ISO-10303-21; rev B, longer"
    fk("--workspace", str(ws), "get", f"{asset}@1", "-o", str(out)).ok()
    assert out.read_bytes() == b"ISO-10303-21; rev A"
    fk("--workspace", str(ws), "get", asset, "-p", PROJECT, "-o", str(out)).ok()
    assert out.read_bytes() == b"ISO-10303-21; rev B, longer"

    history = fk("--workspace", str(ws), "versions", "blade.step", "--json").json()
    assert [v["number"] for v in history] == [1, 2]
    assert [v["size"] for v in history] == [19, 27]
    assert len({v["version_id"] for v in history}) == 2
    table = fk("--workspace", str(ws), "versions", asset).ok().out
    assert "1" in table
    assert "2" in table


@pytest.mark.parametrize("size", [0, 1, 16 * 1024, 16 * 1024 + 1, (3 << 20) + 7])
def test_get_round_trip_is_identical(fk: InProcess, ws: Path, tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    path = _write(tmp_path / "part.bin", data)
    _put(fk, ws, path)
    out = tmp_path / "back.bin"
    result = fk("--workspace", str(ws), "get", "part.bin", "-o", str(out)).ok()
    assert out.read_bytes() == data
    assert result.stdout == b""  # -o FILE: nothing on stdout
    assert "verified part.bin@1" in result.stderr
    assert out.stat().st_mode & 0o077 == 0  # plaintext is written 0600
    assert temporaries(tmp_path) == []
    # the stored object is not the plaintext
    stored = blobs_under(ws / SITE)
    assert len(stored) == 1
    if size >= 16:
        assert data not in next(iter(stored.values()))


def test_put_metadata_and_ls(fk: InProcess, ws: Path, tmp_path: Path) -> None:
    w = ("--workspace", str(ws))
    path = _write(tmp_path / "recipe.json", b'{"temp_c": 230}')
    asset, _ = _put(
        fk,
        ws,
        path,
        "--name",
        "blade root recipe",
        "--classification",
        "secret",
        "--tag",
        "program=T-900",
        "--tag",
        "line=4",
    )
    _put(fk, ws, _write(tmp_path / "other.bin", b"x"))
    listed = fk(*w, "ls", "--json").json()
    assert listed == fk(*w, "--json", "ls").json()
    assert [(a["name"], a["project"], a["versions"]) for a in listed] == [
        ("blade root recipe", PROJECT, 1),
        ("other.bin", PROJECT, 1),
    ]
    first = listed[0]
    assert first["id"] == asset
    assert first["deleted"] is False
    assert first["latest"]["classification"] == "secret"
    assert first["latest"]["tags"] == {"program": "T-900", "line": "4"}
    assert first["latest"]["size"] == 15
    assert fk(*w, "ls", "-p", PROJECT, "--json").json() == listed
    fk(*w, "projects", "create", "empty", "--residency", "DE").ok()
    assert fk(*w, "ls", "-p", "empty", "--json").json() == []
    table = fk(*w, "ls").ok().out
    assert "blade root recipe" in table
    assert "secret" in table


def test_put_json(fk: InProcess, ws: Path, tmp_path: Path) -> None:
    path = _write(tmp_path / "a.bin", b"12345")
    data = fk("--workspace", str(ws), "put", str(path), "-p", PROJECT, "--json").json()
    assert (data["name"], data["project"], data["version"], data["size"]) == (
        "a.bin",
        PROJECT,
        1,
        5,
    )
    assert data["request_id"].startswith("req-")


@pytest.mark.subprocess
def test_put_and_get_through_the_entry_point(fk_sub: Sub, ws: Path, tmp_path: Path) -> None:
    data = os.urandom((1 << 20) + 123)
    path = _write(tmp_path / "fw.bin", data)
    first = fk_sub("--workspace", str(ws), "put", str(path), "-p", PROJECT).ok()
    match = ASSET_LINE.match(first.out)
    assert match is not None, first
    assert match.group(2) == "1"
    second = fk_sub("--workspace", str(ws), "put", str(path), "-p", PROJECT).ok()
    assert second.out == f"{match.group(1)} version 2\n"

    streamed = fk_sub("--workspace", str(ws), "get", "fw.bin@1", "-o", "-").ok()
    assert streamed.stdout == data
    assert "verified fw.bin@1" in streamed.stderr

    listed = fk_sub("--workspace", str(ws), "ls", "--json").json()
    assert [(a["name"], a["versions"]) for a in listed] == [("fw.bin", 2)]


def test_rm_hides_but_keeps_history(fk: InProcess, ws: Path, tmp_path: Path) -> None:
    w = ("--workspace", str(ws))
    path = _write(tmp_path / "gone.bin", b"v1")
    asset, _ = _put(fk, ws, path)
    path.write_bytes(b"v2")
    _put(fk, ws, path)
    _put(fk, ws, _write(tmp_path / "stays.bin", b"s"))
    stored = blobs_under(ws / SITE)

    removed = fk(*w, "rm", "gone.bin").ok()
    assert removed.out == f"removed {asset}\n"
    assert [a["name"] for a in fk(*w, "ls", "--json").json()] == ["stays.bin"]
    history = fk(*w, "versions", asset, "--json").json()
    assert [v["number"] for v in history] == [1, 2]
    assert blobs_under(ws / SITE) == stored  # a soft delete keeps every blob
    fk(*w, "get", "gone.bin", "-o", str(tmp_path / "x")).error("FK-NOTFOUND-001", 1)
    assert not (tmp_path / "x").exists()
    fk(*w, "rm", asset).error("FK-NOTFOUND-001", 1)  # already removed
    assert fk(*w, "fsck", "--json").json()["findings"] == []

    # a new put of the name brings the asset back as its next version
    path.write_bytes(b"v3")
    assert _put(fk, ws, path) == (asset, 3)
    assert [a["name"] for a in fk(*w, "ls", "--json").json()] == ["gone.bin", "stays.bin"]


def test_rm_json(fk: InProcess, ws: Path, tmp_path: Path) -> None:
    asset, _ = _put(fk, ws, _write(tmp_path / "a.bin", b"a"))
    assert fk("--workspace", str(ws), "rm", asset, "--json").json() == {"removed": asset}


def test_fsck_clean(fk: InProcess, ws: Path, tmp_path: Path) -> None:
    w = ("--workspace", str(ws))
    empty = fk(*w, "fsck").ok()
    assert "0 findings" in empty.stderr
    for i in range(3):
        _put(fk, ws, _write(tmp_path / f"f{i}.bin", os.urandom(1000 * i)))
    report = fk(*w, "fsck", "--json").json()
    assert report["versions_checked"] == 3
    assert report["findings"] == []
    assert report["repaired"] == []
    assert report["request_id"].startswith("req-")
    text = fk(*w, "fsck").ok()
    assert "checked 3 versions, 0 findings" in text.stderr
    assert fk(*w, "fsck", "--repair", "--grace", "0").code == 0
    assert len(blobs_under(ws / SITE)) == 3


# --- errors: each a clear FK error, nothing lost --------------------------------------------


def _state(fk: InProcess, ws: Path) -> tuple[object, dict[str, bytes]]:
    """Assets and the site's blobs; not the log's mirror, which every command (a refused
    one too) grows with the checkpoint its vault signs as it closes."""
    return fk("--workspace", str(ws), "ls", "--json").json(), blobs_under(ws / SITE)


@pytest.fixture
def seeded(fk: InProcess, ws: Path, tmp_path: Path) -> Path:
    """``ws`` holding one asset, ``keep.bin``."""
    _put(fk, ws, _write(tmp_path / "keep.bin", b"precious"))
    return ws


@pytest.mark.parametrize(
    "args",
    [
        ["ls", "--bogus"],
        ["--bogus", "ls"],
        ["put"],
        ["get", "keep.bin"],  # -o is required
        ["no-such-command"],
        ["projects", "frobnicate"],
        ["versions"],
        ["fsck", "--grace", "soon"],
    ],
    ids=" ".join,
)
def test_usage_errors_exit_2(fk: InProcess, seeded: Path, args: list[str]) -> None:
    before = _state(fk, seeded)
    result = fk("--workspace", str(seeded), *args)
    result.error("FK-USAGE-001", 2)
    assert result.stdout == b""
    assert _state(fk, seeded) == before


def test_missing_input_file(fk: InProcess, seeded: Path, tmp_path: Path) -> None:
    before = _state(fk, seeded)
    result = fk("--workspace", str(seeded), "put", str(tmp_path / "nope.step"), "-p", PROJECT)
    message = result.error("FK-USAGE-003", 2)
    assert "nope.step" in message
    assert _state(fk, seeded) == before
    assert not any((seeded / ".run").rglob("*.lock"))


def test_put_a_directory(fk: InProcess, seeded: Path, tmp_path: Path) -> None:
    before = _state(fk, seeded)
    fk("--workspace", str(seeded), "put", str(tmp_path), "-p", PROJECT).error("FK-USAGE-001", 2)
    assert _state(fk, seeded) == before


@pytest.mark.parametrize(
    "args",
    [
        ["get", "nope", "-o", "OUT"],
        ["get", "keep.bin@9", "-o", "OUT"],
        ["get", "a-000000000000000000000000", "-o", "OUT"],
        ["versions", "nope"],
        ["rm", "nope"],
        ["put", "SRC", "-p", "no-such-project"],
    ],
    ids=" ".join,
)
def test_not_found(fk: InProcess, seeded: Path, tmp_path: Path, args: list[str]) -> None:
    src = _write(tmp_path / "src.bin", b"new")
    out = tmp_path / "out.bin"
    argv = [str(out) if a == "OUT" else str(src) if a == "SRC" else a for a in args]
    before = _state(fk, seeded)
    result = fk("--workspace", str(seeded), *argv)
    message = result.error("FK-NOTFOUND-001", 1)
    assert REQUEST_ID.search(message), message
    assert not out.exists()
    assert _state(fk, seeded) == before


@pytest.mark.parametrize(
    "name",
    [
        "a/b",
        "/etc/passwd",
        "..",
        ".",
        "a\\b",
        "x" * 256,
        "é" * 128,  # 256 bytes of UTF-8
        "",
        "tab\there",
        "new\nline",
    ],
    ids=[
        "slash",
        "absolute",
        "dotdot",
        "dot",
        "backslash",
        "256-bytes",
        "256-utf8",
        "empty",
        "tab",
        "newline",
    ],
)
def test_bad_names(fk: InProcess, seeded: Path, tmp_path: Path, name: str) -> None:
    src = _write(tmp_path / "src.bin", b"data")
    before = _state(fk, seeded)
    result = fk("--workspace", str(seeded), "put", str(src), "-p", PROJECT, "--name", name)
    message = result.error("FK-USAGE-002", 2)
    assert REQUEST_ID.search(message), message
    assert _state(fk, seeded) == before


def test_nul_in_a_name_through_argv_in_process(fk: InProcess, seeded: Path, tmp_path: Path) -> None:
    """A real argv cannot hold NUL; the in-process CLI can, and must refuse it."""
    src = _write(tmp_path / "src.bin", b"data")
    before = _state(fk, seeded)
    result = fk("--workspace", str(seeded), "put", str(src), "-p", PROJECT, "--name", "a\x00b")
    result.error("FK-USAGE-002", 2)
    assert _state(fk, seeded) == before


def test_nul_in_a_name_through_the_python_api(seeded: Path) -> None:
    """NUL cannot reach a real argv; the Python API must refuse it the same way."""
    principal = tomllib.loads((seeded / "forgekeep.toml").read_text())["workspace"]["principal"]
    with forgekeep.open_workspace(
        seeded, passphrase=PASSPHRASE.encode(), principal=principal
    ) as vault:
        before = [a.name for a in vault.assets.ls()]
        for name in ("a\x00b", "\x00", "keep.bin\x00"):
            with pytest.raises(InvalidNameError) as caught:
                vault.assets.put(io.BytesIO(b"data"), project=PROJECT, name=name)
            assert caught.value.code == "FK-USAGE-002"
            assert caught.value.exit_code == 2
            assert caught.value.request_id is not None
        with pytest.raises(InvalidNameError):
            vault.assets.put(io.BytesIO(b"data"), project=PROJECT, name="x" * 256)
        assert [a.name for a in vault.assets.ls()] == before
    assert temporaries(seeded / SITE) == []


@pytest.mark.parametrize("name", ["x" * 255, "é" * 127 + "x", ".hidden", "a b", "ünïcödé"])
def test_names_at_the_limits_are_accepted(
    fk: InProcess, ws: Path, tmp_path: Path, name: str
) -> None:
    src = _write(tmp_path / "src.bin", b"edge")
    _put(fk, ws, src, "--name", name)
    out = tmp_path / "out.bin"
    fk("--workspace", str(ws), "get", name, "-o", str(out)).ok()
    assert out.read_bytes() == b"edge"
    assert [a["name"] for a in fk("--workspace", str(ws), "ls", "--json").json()] == [name]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--classification", "top-secret"], "FK-USAGE-001"),
        (["--tag", "novalue"], "FK-USAGE-001"),
        (["--tag", "bad key=1"], "FK-USAGE-002"),
        (["--tag", "k=line\nbreak"], "FK-USAGE-002"),
    ],
    ids=["classification", "tag-form", "tag-key", "tag-value"],
)
def test_bad_put_options(
    fk: InProcess, seeded: Path, tmp_path: Path, args: list[str], code: str
) -> None:
    src = _write(tmp_path / "src.bin", b"data")
    before = _state(fk, seeded)
    fk("--workspace", str(seeded), "put", str(src), "-p", PROJECT, *args).error(code, 2)
    assert _state(fk, seeded) == before


def test_ls_of_an_unknown_project_is_empty(fk: InProcess, seeded: Path) -> None:
    assert fk("--workspace", str(seeded), "ls", "-p", "no-such-project", "--json").json() == []


def test_bad_references(fk: InProcess, seeded: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.bin"
    fk("--workspace", str(seeded), "get", "keep.bin@0", "-o", str(out)).error("FK-USAGE-001", 2)
    fk("--workspace", str(seeded), "get", "keep.bin", "-o", str(tmp_path)).error("FK-USAGE-001", 2)
    assert not out.exists()


def test_get_into_a_missing_directory(fk: InProcess, seeded: Path, tmp_path: Path) -> None:
    out = tmp_path / "no" / "such" / "dir" / "out.bin"
    result = fk("--workspace", str(seeded), "get", "keep.bin", "-o", str(out))
    result.error("FK-STORE-001", 1)
    assert not (tmp_path / "no").exists()


def test_a_failed_get_keeps_an_existing_output_file(
    fk: InProcess, seeded: Path, tmp_path: Path
) -> None:
    out = _write(tmp_path / "out.bin", b"mine")
    fk("--workspace", str(seeded), "get", "nope", "-o", str(out)).error("FK-NOTFOUND-001", 1)
    assert out.read_bytes() == b"mine"


@pytest.mark.subprocess
@pytest.mark.parametrize(
    ("args", "code", "exit_code"),
    [
        (["ls", "--no-such-option"], "FK-USAGE-001", 2),
        (["put", "MISSING", "-p", PROJECT], "FK-USAGE-003", 2),
        (["get", "nope", "-o", "OUT"], "FK-NOTFOUND-001", 1),
        (["put", "SRC", "-p", PROJECT, "--name", "n" * 256], "FK-USAGE-002", 2),
    ],
    ids=["unknown-option", "missing-input", "not-found", "long-name"],
)
def test_errors_through_the_entry_point(
    fk_sub: Sub, ws: Path, tmp_path: Path, args: list[str], code: str, exit_code: int
) -> None:
    src = _write(tmp_path / "src.bin", b"data")
    swap = {"MISSING": str(tmp_path / "missing.bin"), "SRC": str(src), "OUT": str(tmp_path / "o")}
    result = fk_sub("--workspace", str(ws), *[swap.get(a, a) for a in args])
    message = result.error(code, exit_code)
    assert result.stdout == b""
    if code != "FK-USAGE-001":
        assert REQUEST_ID.search(message), message
    assert not (tmp_path / "o").exists()
    assert blobs_under(ws / SITE) == {}
