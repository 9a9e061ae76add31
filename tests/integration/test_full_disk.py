"""A real full disk (a small tmpfs): FK-STORE-002, nothing committed, nothing left behind.

The workspace (config, keyring, database) lives on the normal disk; only its
site, or only the output of ``get``, sits on a tmpfs too small for the data.
Needs the privilege to mount (root or CAP_SYS_ADMIN): skipped with the reason
otherwise, and failed in CI (``CI`` set).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from fk_cli_harness import (
    PROJECT,
    REQUEST_ID,
    InProcess,
    Sub,
    blobs_under,
    child_env,
    files_under,
    forgekeep_bin,
    query,
    temporaries,
)

MIB = 1 << 20
DEFAULT_SITE_URI = 'uri = "file:sites/local-de"'
MountTmpfs = Callable[[str], Path]  # the mount_tmpfs fixture (tests/integration/conftest.py)


def _move_site(home: Path, uri: str) -> None:
    config = home / "forgekeep.toml"
    text = config.read_text()
    assert DEFAULT_SITE_URI in text
    config.write_text(text.replace(DEFAULT_SITE_URI, f'uri = "{uri}"'))


def _write(path: Path, size: int) -> bytes:
    data = os.urandom(size)
    path.write_bytes(data)
    return data


@pytest.fixture(params=["file:{}", "file://{}"], ids=["file-colon-abs", "file-triple-slash"])
def site_on_tmpfs(request: pytest.FixtureRequest, ws: Path, mount_tmpfs: MountTmpfs) -> Path:
    """``ws`` with its only site on a 4 MiB tmpfs; returns the tmpfs mount point."""
    mount = mount_tmpfs("4m")
    (mount / "site").mkdir(mode=0o700)  # an operator creates a new site's root
    _move_site(ws, request.param.format(mount / "site"))
    return mount


@pytest.mark.subprocess
def test_put_larger_than_the_disk(
    fk: InProcess, fk_sub: Sub, ws: Path, site_on_tmpfs: Path, tmp_path: Path
) -> None:
    w = ("--workspace", str(ws))
    small = _write(tmp_path / "small.bin", 100_000)
    fk(*w, "put", str(tmp_path / "small.bin"), "-p", PROJECT).ok()
    assert files_under(site_on_tmpfs / "site"), "the site must really be on the tmpfs"
    listed = fk(*w, "ls", "--json").json()
    stored = blobs_under(site_on_tmpfs / "site")

    _write(tmp_path / "big.bin", 6 * MIB)
    result = fk_sub(*w, "put", str(tmp_path / "big.bin"), "-p", PROJECT)
    message = result.error("FK-STORE-002", 1)
    assert REQUEST_ID.search(message), message
    assert result.stdout == b""

    # a new version of an existing asset fails the same way, and keeps version 1
    fk(*w, "put", str(tmp_path / "big.bin"), "-p", PROJECT, "--name", "small.bin").error(
        "FK-STORE-002", 1
    )

    assert fk(*w, "ls", "--json").json() == listed
    assert [v["number"] for v in fk(*w, "versions", "small.bin", "--json").json()] == [1]
    assert temporaries(site_on_tmpfs) == []
    assert blobs_under(site_on_tmpfs / "site") == stored
    assert query(ws, "SELECT version_id FROM uploads") == []
    out = tmp_path / "small.out"
    fk(*w, "get", "small.bin", "-o", str(out)).ok()
    assert out.read_bytes() == small
    report = fk(*w, "fsck", "--json").json()
    assert report["findings"] == []
    assert report["versions_checked"] == 1

    # the failed puts gave their space back: a file that fits still goes in
    fits = _write(tmp_path / "fits.bin", 2 * MIB)
    fk(*w, "put", str(tmp_path / "fits.bin"), "-p", PROJECT).ok()
    fk(*w, "get", "fits.bin", "-o", str(out)).ok()
    assert out.read_bytes() == fits
    assert fk(*w, "fsck", "--json").json()["findings"] == []


@pytest.fixture
def stored_2mib(fk: InProcess, ws: Path, tmp_path: Path) -> bytes:
    """``ws`` holding ``blob.bin`` (2 MiB) on the normal disk."""
    data = _write(tmp_path / "blob.bin", 2 * MIB)
    fk("--workspace", str(ws), "put", str(tmp_path / "blob.bin"), "-p", PROJECT).ok()
    return data


@pytest.mark.subprocess
def test_get_onto_a_full_disk(
    fk: InProcess,
    fk_sub: Sub,
    ws: Path,
    stored_2mib: bytes,
    mount_tmpfs: MountTmpfs,
    tmp_path: Path,
) -> None:
    w = ("--workspace", str(ws))
    full = mount_tmpfs("1m")
    out = full / "blob.out"

    result = fk_sub(*w, "get", "blob.bin", "-o", str(out))
    result.error("FK-STORE-002", 1)
    assert not out.exists()
    assert list(full.iterdir()) == []

    # an existing output file is left as it was
    out.write_bytes(b"an older copy")
    fk(*w, "get", "blob.bin", "-o", str(out)).error("FK-STORE-002", 1)
    assert out.read_bytes() == b"an older copy"
    assert [p.name for p in full.iterdir()] == ["blob.out"]

    # nothing was harmed: the asset still gets back identical elsewhere
    elsewhere = tmp_path / "blob.out"
    fk(*w, "get", "blob.bin", "-o", str(elsewhere)).ok()
    assert elsewhere.read_bytes() == stored_2mib
    assert fk(*w, "fsck", "--json").json()["findings"] == []


def test_get_onto_a_full_disk_hints_at_the_output(
    fk: InProcess, ws: Path, stored_2mib: bytes, mount_tmpfs: MountTmpfs
) -> None:
    out = mount_tmpfs("1m") / "blob.out"
    result = fk("--workspace", str(ws), "get", "blob.bin", "-o", str(out))
    result.error("FK-STORE-002", 1)
    hint = result.stderr.splitlines()[1]
    assert "site" not in hint, hint


@pytest.mark.subprocess
def test_get_to_stdout_onto_a_full_disk(
    ws: Path, stored_2mib: bytes, mount_tmpfs: MountTmpfs, xdg: Path
) -> None:
    full = mount_tmpfs("1m")
    with (full / "stream.out").open("wb") as sink:
        done = subprocess.run(
            [forgekeep_bin(), "--workspace", str(ws), "get", "blob.bin", "-o", "-"],
            env=child_env(xdg),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.PIPE,
            timeout=120,
            check=False,
        )
    stderr = done.stderr.decode()
    assert done.returncode == 1, stderr
    assert stderr.startswith("error[FK-STORE-002]: "), stderr
