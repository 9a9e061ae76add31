"""kill -9 anywhere in a put: nothing half-visible, and fsck --repair leaves a clean workspace.

A child process puts an 8 MiB file through the Python API and SIGKILLs itself at
one of many points — before the first byte, at every MiB read and of progress,
around the blob's rename, inside and after the database commit — or is SIGKILLed
by the test after a random delay. Each child is forked by ``_put_child.py --serve``
(see there), so a kill point costs milliseconds. Afterwards, through the CLI:

* ``ls``/``versions``/``get`` show either the complete new version (identical
  on ``get``) or none of it (the previous version, or no asset, is intact);
* no file sits under a final blob name unless it is a complete ciphertext;
* ``fsck`` reports only crash debris (temporary files, orphan blobs,
  abandoned uploads), ``fsck --repair --grace 0`` removes it, and a second
  ``fsck`` is clean: no orphans, no temporaries, no upload records.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fk_cli_harness import (
    PROJECT,
    SITE,
    InProcess,
    child_env,
    query,
    run_subprocess,
    temporaries,
)

from forgekeep._durable import TEMP_PREFIX

MIB = 1 << 20
PAYLOAD_BYTES = 8 * MIB
CHILD = Path(__file__).with_name("_put_child.py")
EXISTING = "firmware.bin"  # has version 1 (payload A) in the template
NEW = "fresh.bin"  # does not exist in the template
DEBRIS = frozenset({"temporary-file", "orphan-blob", "abandoned-upload", "stale-lease"})
RENAMED = ("after-rename", "before-commit", "mid-commit")
#: The killed put's lease expires this fast, so fsck may take it over soon after the kill.
LEASE_SECONDS = 1


@dataclass(frozen=True, slots=True)
class Point:
    at: str  # FK_TEST_KILL_AT for the child; "random:SEED" is killed by the parent
    committed: bool | None  # None: either outcome is fine (random kills)
    must: frozenset[str] = frozenset()  # fsck findings that must be there after the kill
    may: frozenset[str] = frozenset()  # ... and those that may be there (races with threads)

    @property
    def label(self) -> str:
        kind, _, count = self.at.partition(":")
        if kind in ("read", "progress"):
            return f"{kind}-{int(count) / MIB:g}MiB"
        return self.at.replace(":", "-")


_UPLOAD = frozenset({"abandoned-upload"})
_TEMP = frozenset({"temporary-file"})
_ORPHAN = frozenset({"orphan-blob"})
_LEASE = frozenset({"stale-lease"})  # the killed put's expired lease row, removed by --repair

POINTS = [
    Point("before-register", committed=False, must=_LEASE),
    Point("after-register", committed=False, must=_UPLOAD | _LEASE),
    *(
        Point(f"read:{n * MIB}", committed=False, must=_UPLOAD | _LEASE, may=_TEMP)
        for n in (0, 1, 4, 7, 8)  # read:8MiB dies on the EOF read, after the last byte
    ),
    *(
        Point(f"progress:{n * MIB}", committed=False, must=_UPLOAD | _LEASE, may=_TEMP)
        for n in range(1, 9)
    ),
    Point("before-rename", committed=False, must=_UPLOAD | _TEMP | _LEASE),
    Point("after-rename", committed=False, must=_UPLOAD | _ORPHAN | _LEASE),
    Point("before-commit", committed=False, must=_UPLOAD | _ORPHAN | _LEASE),
    Point("mid-commit", committed=False, must=_UPLOAD | _ORPHAN | _LEASE),
    Point("after-commit", committed=True),  # the version's commit released the lease
    *(Point(f"random:{seed}", committed=None, may=DEBRIS) for seed in range(4)),
]
CASES = [
    pytest.param(point, EXISTING if i % 2 else NEW, id=f"{point.label}-{'v2' if i % 2 else 'new'}")
    for i, point in enumerate(POINTS)
]


@dataclass(frozen=True, slots=True)
class Template:
    home: Path
    payload_a: bytes  # version 1 of EXISTING
    new_payload: Path  # what the child puts
    ciphertext_size: int  # of an 8 MiB put in project p1


@pytest.fixture(scope="session")
def template(base_template: Path, tmp_path_factory: pytest.TempPathFactory, xdg: Path) -> Template:
    root = tmp_path_factory.mktemp("kill9")
    home = root / "ws"
    shutil.copytree(base_template, home, symlinks=True)
    config = home / "forgekeep.toml"
    text = config.read_text()
    assert "lease_seconds = 60" in text
    config.write_text(text.replace("lease_seconds = 60", f"lease_seconds = {LEASE_SECONDS}"))
    payload_a = os.urandom(PAYLOAD_BYTES)
    source = root / EXISTING
    source.write_bytes(payload_a)
    run_subprocess(["--workspace", str(home), "put", str(source), "-p", PROJECT], xdg=xdg).ok()
    new_payload = root / "payload-b.bin"
    new_payload.write_bytes(os.urandom(PAYLOAD_BYTES))
    (blob,) = (p for p in (home / SITE).rglob("*") if p.is_file() and "ledger" not in p.parts)
    return Template(home, payload_a, new_payload, blob.stat().st_size)


class ForkServer:
    """``_put_child.py --serve``: forks one put process per request, SIGKILLed on cue.

    Each put runs in its own process, forked from a server that has imported
    Forgekeep already, so a kill point costs milliseconds instead of an
    interpreter start-up.
    """

    def __init__(self, xdg: Path, log: Path) -> None:
        self._log_path = log
        self._log = log.open("wb")
        self._proc = subprocess.Popen(
            [sys.executable, str(CHILD), "--serve"],
            env=child_env(xdg),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
        )

    def log(self) -> str:
        return self._log_path.read_text(errors="replace")[-4000:]

    def put(self, point: Point, home: Path, source: Path, name: str) -> int:
        """Run one put, killed at ``point``; returns its exit code (-9 when SIGKILLed)."""
        stdin, stdout = self._proc.stdin, self._proc.stdout
        assert stdin is not None
        assert stdout is not None
        at = "none" if point.at.startswith("random") else point.at
        request = {"home": str(home), "source": str(source), "project": PROJECT}
        stdin.write(json.dumps({**request, "name": name, "kill_at": at}).encode() + b"\n")
        stdin.flush()
        watchdog: threading.Timer | None = None
        child = -1
        try:
            while line := stdout.readline().decode():
                kind, pid, *rest = line.split()
                if kind == "pid":  # a hung child must not hang the test run
                    child = int(pid)
                    watchdog = threading.Timer(60, _kill, [child])
                    watchdog.start()
                elif int(pid) != child:  # a line of an earlier, interrupted request
                    continue
                elif kind == "started" and point.at.startswith("random"):
                    time.sleep(random.Random(point.at).uniform(0.0, 0.15))  # noqa: S311
                    _kill(child)
                elif kind == "exit":
                    return int(rest[0])
        finally:
            if watchdog is not None:
                watchdog.cancel()
        pytest.fail(f"the fork server died\n{self.log()}")

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=30)
        finally:
            if self._proc.poll() is None:
                self._proc.kill()
                self._proc.wait()
            if self._proc.stdout is not None:
                self._proc.stdout.close()
            self._log.close()


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def fork_server(tmp_path_factory: pytest.TempPathFactory, xdg: Path) -> Iterator[ForkServer]:
    server = ForkServer(xdg, tmp_path_factory.mktemp("fork-server") / "stderr.log")
    try:
        yield server
    finally:
        server.close()


def _run_child(server: ForkServer, point: Point, home: Path, source: Path, name: str) -> int:
    returncode = server.put(point, home, source, name)
    if point.committed is not None or returncode != 0:
        assert returncode == -signal.SIGKILL, (
            f"the child was not killed at {point.at}: exit {returncode}\n{server.log()}"
        )
    return returncode


def _final_names(home: Path) -> set[str]:
    """Keys of every file under its final (non-temporary) name in the site."""
    site = home / SITE
    return {
        str(p.relative_to(site))
        for p in site.rglob("*")
        if p.is_file() and not p.name.startswith(TEMP_PREFIX) and "ledger" not in p.parts
    }  # the log's mirror grows with every command; it holds no blob


def _replica_keys(home: Path) -> set[str]:
    return {key for (key,) in query(home, "SELECT blob_key FROM replicas")}


def _check_listing(fk: InProcess, w: tuple[str, ...], point: Point, name: str, rc: int) -> bool:
    """``ls``/``versions`` show the whole new version or none of it; returns which."""
    listed = {a["name"]: a for a in fk(*w, "ls", "--json").json()}
    assert set(listed) <= {EXISTING, NEW}
    assert listed[EXISTING]["versions"] >= 1  # the asset that was there stays there
    before = 1 if name == EXISTING else 0
    target = listed.get(name)
    count = target["versions"] if target else 0
    assert count in (before, before + 1), listed
    committed = count == before + 1
    if point.committed is not None:
        assert committed is point.committed, f"{point.at}: committed={committed}"
    if rc == 0:
        assert committed, "the child finished its put, yet the version is missing"
    if target is not None:
        history = fk(*w, "versions", target["id"], "--json").json()
        assert [v["number"] for v in history] == list(range(1, count + 1))
        assert {v["size"] for v in history} == {PAYLOAD_BYTES}
    return committed


def _check_fsck(fk: InProcess, w: tuple[str, ...], point: Point, committed: bool) -> None:
    """fsck reports only crash debris; repair removes exactly that; then fsck is clean."""
    found = fk(*w, "fsck", "--json")
    kinds = {f["kind"] for f in found.parsed()["findings"]}
    assert found.code == (4 if kinds else 0), found
    assert point.must <= kinds <= point.must | point.may, f"{point.at}: {sorted(kinds)}"

    repaired = fk(*w, "fsck", "--repair", "--grace", "0", "--json")
    assert repaired.code == 0, repaired
    assert {f["kind"] for f in repaired.parsed()["repaired"]} == kinds
    clean = fk(*w, "fsck", "--json").json()
    assert clean["findings"] == []
    assert clean["versions_checked"] == 1 + int(committed)


@pytest.mark.subprocess
@pytest.mark.parametrize(("point", "name"), CASES)
def test_kill9_during_put(
    point: Point,
    name: str,
    template: Template,
    fk: InProcess,
    tmp_path: Path,
    fork_server: ForkServer,
) -> None:
    home = tmp_path / "ws"
    shutil.copytree(template.home, home, symlinks=True)
    w = ("--workspace", str(home))
    new_data = template.new_payload.read_bytes()

    returncode = _run_child(fork_server, point, home, template.new_payload, name)

    committed = _check_listing(fk, w, point, name, returncode)

    # Nothing is visible under a final name unless it is a complete ciphertext.
    for key in _final_names(home) - _replica_keys(home):
        assert point.at in RENAMED or point.at.startswith("random"), f"{key} after {point.at}"
        assert (home / SITE / key).stat().st_size == template.ciphertext_size, key

    time.sleep(LEASE_SECONDS + 0.5)  # the dead put's lease expires; fsck may take it over
    _check_fsck(fk, w, point, committed)
    assert temporaries(home) == []
    assert query(home, "SELECT version_id FROM uploads") == []
    assert _final_names(home) == _replica_keys(home)

    # Whatever is listed gets back identical; what is not listed is not there.
    out = tmp_path / "out.bin"
    if committed:
        fk(*w, "get", name, "-o", str(out)).ok()
        assert out.read_bytes() == new_data
    elif name == EXISTING:
        fk(*w, "get", name, "-o", str(out)).ok()
        assert out.read_bytes() == template.payload_a
    else:
        fk(*w, "get", name, "-o", str(out)).error("FK-NOTFOUND-001", 1)
        assert not out.exists()
    if name == NEW:
        fk(*w, "get", f"{EXISTING}@1", "-o", str(out)).ok()
        assert out.read_bytes() == template.payload_a

    # The workspace takes the same put again after the crash.
    fk(*w, "put", str(template.new_payload), "-p", PROJECT, "--name", name).ok()
    fk(*w, "get", name, "-o", str(out)).ok()
    assert out.read_bytes() == new_data


@pytest.mark.subprocess
def test_repair_removes_stale_upload_leases(
    template: Template, fk: InProcess, tmp_path: Path, fork_server: ForkServer
) -> None:
    home = tmp_path / "ws"
    shutil.copytree(template.home, home, symlinks=True)
    config = home / "forgekeep.toml"
    config.write_text(
        config.read_text().replace(f"lease_seconds = {LEASE_SECONDS}", "lease_seconds = 4")
    )
    point = Point("progress:1048576", committed=False)
    _run_child(fork_server, point, home, template.new_payload, NEW)
    assert query(home, "SELECT version_id FROM upload_leases"), "the killed put held a lease"
    young = fk("--workspace", str(home), "fsck", "--repair", "--grace", "0", "--json")
    assert young.parsed()["repaired"] == []  # not expired yet: never taken over early
    assert query(home, "SELECT version_id FROM upload_leases")
    time.sleep(4.5)
    assert fk("--workspace", str(home), "fsck", "--repair", "--grace", "0").code == 0
    assert query(home, "SELECT version_id FROM upload_leases") == []
