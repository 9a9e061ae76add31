"""Put and get a large file through the Python API, beside two references.

References, measured in the same run on the same disk:

* raw: ``cryptography`` AES-256-GCM (1 MiB calls) plus SHA-256 over the same
  bytes, one after the other in one thread, written with the same fsync; for
  get, the reverse (read, decrypt, SHA-256, write, fsync).
* age: pyrage (age, X25519 recipient) encrypting and decrypting the same file.

Prints throughputs, ratios and peak RSS of each phase (measured in a child
process per phase, so one phase's memory never hides another's). Phases run
interleaved for ``--rounds`` rounds; the median of each is reported, because a
shared VM's disk and CPU vary by tens of percent from one run to the next.

    python bench/put_get.py [--mib 1024] [--rounds 3] [--dir DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BLOCK = 1 << 20


def _fsync_write(path: Path, chunks: object) -> None:
    with path.open("wb") as out:
        for chunk in chunks:  # type: ignore[attr-defined]
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())


def raw_put(src: Path, dst: Path) -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    aead, digest = AESGCM(secrets.token_bytes(32)), hashlib.sha256()

    def chunks():
        with src.open("rb") as handle:
            counter = 0
            while block := handle.read(BLOCK):
                counter += 1
                ct = aead.encrypt(counter.to_bytes(12, "big"), block, None)
                digest.update(ct)
                yield ct

    _fsync_write(dst, chunks())


def raw_get(src: Path, dst: Path) -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key = secrets.token_bytes(32)
    aead = AESGCM(key)
    ct_path = dst.with_suffix(".rawct")
    with src.open("rb") as handle, ct_path.open("wb") as out:  # setup, not timed
        counter = 0
        while block := handle.read(BLOCK):
            counter += 1
            out.write(aead.encrypt(counter.to_bytes(12, "big"), block, None))
    _drop_cache(ct_path)
    started = time.perf_counter()
    digest = hashlib.sha256()

    def chunks():
        with ct_path.open("rb") as handle:
            counter = 0
            while block := handle.read(BLOCK + 16):
                counter += 1
                pt = aead.decrypt(counter.to_bytes(12, "big"), block, None)
                digest.update(pt)
                yield pt

    _fsync_write(dst, chunks())
    print(f"TIMED {time.perf_counter() - started}")
    ct_path.unlink()


def age_put(src: Path, dst: Path) -> None:
    import pyrage

    identity = pyrage.x25519.Identity.generate()
    with src.open("rb") as inp, dst.open("wb") as out:
        pyrage.encrypt_io(inp, out, [identity.to_public()])
        out.flush()
        os.fsync(out.fileno())


def age_get(src: Path, dst: Path) -> None:
    import pyrage

    identity = pyrage.x25519.Identity.generate()
    ct_path = dst.with_suffix(".age")
    with src.open("rb") as inp, ct_path.open("wb") as out:
        pyrage.encrypt_io(inp, out, [identity.to_public()])
    _drop_cache(ct_path)
    started = time.perf_counter()
    with ct_path.open("rb") as inp, dst.open("wb") as out:
        pyrage.decrypt_io(inp, out, [identity])
        out.flush()
        os.fsync(out.fileno())
    print(f"TIMED {time.perf_counter() - started}")
    ct_path.unlink()


def _workspace(root: Path) -> tuple[Path, bytes]:
    """An embedded workspace with a vetted admin and project ``bench`` (made once)."""
    from forgekeep.clock import SystemClock
    from forgekeep.config import KdfSection
    from forgekeep.service.wiring import open_vault
    from forgekeep.service.workspace.create import AdminSpec, init_workspace
    from forgekeep.testing.vetting import ISSUER

    home, passphrase = root / "ws", b"bench-passphrase"
    if not (home / "forgekeep.toml").exists():
        created = init_workspace(
            home,
            passphrase=passphrase,
            admin=AdminSpec("bench", ("DE",), "DE"),
            trusted_issuers=[ISSUER.vkey],
            kdf=KdfSection(memory_kib=1024, iterations=1, lanes=1),
        )
        with open_vault(home, passphrase=passphrase) as vault:
            ISSUER.vet(vault, created.principal_id, SystemClock())
            vault.projects.create("bench", residency="DE")
    return home, passphrase


def fk_put(src: Path, dst: Path) -> None:
    from forgekeep.service.wiring import open_vault

    home, passphrase = _workspace(dst.parent)
    with open_vault(home, passphrase=passphrase) as vault:
        started = time.perf_counter()
        vault.assets.put(src, project="bench", name="bench.bin")
        print(f"TIMED {time.perf_counter() - started}")


def fk_get(src: Path, dst: Path) -> None:
    from forgekeep.service.wiring import open_vault

    home, passphrase = _workspace(dst.parent)
    with open_vault(home, passphrase=passphrase) as vault:
        if not vault.assets.ls():
            vault.assets.put(src, project="bench", name="bench.bin")
        for blob in (home / "sites").rglob("*"):
            if blob.is_file():
                _drop_cache(blob)
        started = time.perf_counter()
        vault.assets.get("bench.bin", dst)
        print(f"TIMED {time.perf_counter() - started}")


def _drop_cache(path: Path) -> None:
    """Ask the kernel to forget a file's cached pages, so reads hit the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


PHASES = {
    "raw_put": raw_put,
    "raw_get": raw_get,
    "age_put": age_put,
    "age_get": age_get,
    "fk_put": fk_put,
    "fk_get": fk_get,
}


def _peak_rss() -> int:
    """VmHWM, not ru_maxrss (which Linux carries over from the parent across exec)."""
    with Path("/proc/self/status").open(encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def _child(phase: str, src: Path, dst: Path) -> None:
    started = time.perf_counter()
    PHASES[phase](src, dst)
    print(f"TOTAL {time.perf_counter() - started}")
    print(f"RSS {_peak_rss()}")


def _run_phase(phase: str, src: Path, work: Path) -> tuple[float, int]:
    dst = work / f"{phase}.out"
    _drop_cache(src)
    out = subprocess.run(
        [sys.executable, __file__, "--child", phase, str(src), str(dst)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    values = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
    seconds = float(values.get("TIMED", values["TOTAL"]))
    dst.unlink(missing_ok=True)
    return seconds, int(values["RSS"])


def _make_input(path: Path, mib: int) -> None:
    block = secrets.token_bytes(BLOCK)
    with path.open("wb") as out:
        for i in range(mib):
            out.write(block[i % 997 :] + block[: i % 997])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--child", nargs=3, metavar=("PHASE", "SRC", "DST"))
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="fk-bench-") as tmp:
        work = Path(tmp)
        src = work / "input.bin"
        _make_input(src, args.mib)
        size = args.mib * BLOCK
        runs: dict[str, list[tuple[float, int]]] = {phase: [] for phase in PHASES}
        for _ in range(args.rounds):
            for phase in PHASES:
                runs[phase].append(_run_phase(phase, src, work))
    _report(runs, size, args)


def _report(runs: dict[str, list[tuple[float, int]]], size: int, args: argparse.Namespace) -> None:
    median = {phase: statistics.median(s for s, _ in r) for phase, r in runs.items()}
    print(f"file: {args.mib} MiB; rounds: {args.rounds}; disk: {args.dir or tempfile.gettempdir()}")
    print(f"{'phase':10} {'median MB/s':>12} {'min..max MB/s':>16} {'peak RSS':>10}")
    for phase, results in runs.items():
        rates = [size / s / 1e6 for s, _ in results]
        rss = max(r for _, r in results)
        print(
            f"{phase:10} {size / median[phase] / 1e6:12.0f} "
            f"{min(rates):7.0f}..{max(rates):<7.0f} {rss / 2**20:8.0f} MiB"
        )
    for op in ("put", "get"):
        fk = median[f"fk_{op}"]
        print(
            f"{op}: {median[f'raw_{op}'] / fk:.2f}x raw AES-GCM+SHA-256, "
            f"{median[f'age_{op}'] / fk:.2f}x age (medians)"
        )


if __name__ == "__main__":
    main()
