"""``forgekeep demo``: the vault core end to end, on embedded defaults.

It builds a scratch workspace (SQLite, the ``file:`` site ``local-de``, a
``local:`` keyring), puts a STEP model, a process recipe and a large binary,
lists them, gets each back and verifies it, shows that one flipped byte on disk
is refused with no output left behind, and prints a summary.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import typer
from rich.table import Table

from forgekeep.cli._common import human_size, progress_bar, stderr, stdout
from forgekeep.crypto.signed import encode_vkey, generate_signer
from forgekeep.errors import ForgekeepError
from forgekeep.identity.vetting import issue_vetting_record
from forgekeep.service.front import AdminSpec, Vault, Workspace

BLOCK = 1 << 20


def _step_model() -> str:
    points = "\n".join(
        f"#{10 + i}=CARTESIAN_POINT('',({i * 1.5:.3f},{(i % 7) * 2.25:.3f},{i * 0.125:.3f}));"
        for i in range(400)
    )
    return (
        "ISO-10303-21;\nHEADER;\nFILE_DESCRIPTION(('turbine blade, rev C'),'2;1');\n"
        "FILE_NAME('blade-rev-c.step','2026-11-25T00:00:00',('design'),('ACME Turbo'),"
        "'forgekeep demo','',' ');\nFILE_SCHEMA(('AP242_MANAGED_MODEL_BASED_3D_ENGINEERING'));\n"
        f"ENDSEC;\nDATA;\n{points}\nENDSEC;\nEND-ISO-10303-21;\n"
    )


def _recipe() -> str:
    steps = [
        {"step": i, "zone": f"Z{i % 4}", "temp_c": 210 + 5 * i, "hold_s": 12 + i} for i in range(12)
    ]
    return json.dumps(
        {
            "recipe": "PA66-GF30 blade root",
            "machine": "IMM-450t",
            "clamp_force_kn": 4500,
            "steps": steps,
        },
        indent=2,
    )


def _write_big(path: Path, mib: int, tick: Callable[[int], None]) -> None:
    seed = secrets.token_bytes(BLOCK)
    with path.open("wb") as handle:
        for i in range(mib):
            handle.write(seed[i % 251 :] + seed[: i % 251])
            tick(BLOCK)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(BLOCK):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def _scratch(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="forgekeep-demo-") as tmp:
        yield Path(tmp)


def _say(text: str) -> None:
    stdout.print(text, highlight=False)


def _inputs(ctx: typer.Context, root: Path, big_mib: int) -> list[Path]:
    inputs = root / "inputs"
    inputs.mkdir()
    (inputs / "blade-rev-c.step").write_text(_step_model())
    (inputs / "blade-root-recipe.json").write_text(_recipe())
    with progress_bar(ctx, "generating firmware image", big_mib * BLOCK) as tick:
        _write_big(inputs / "plc-firmware.bin", big_mib, tick)
    return sorted(inputs.iterdir())


def _put_all(ctx: typer.Context, v: Vault, files: list[Path]) -> float:
    started = time.perf_counter()
    for path in files:
        with progress_bar(ctx, f"put {path.name}", path.stat().st_size) as tick:
            result = v.assets.put(
                path,
                project="turbine-blade",
                classification="confidential",
                tags={"program": "T-900"},
                progress=tick,
            )
        _say(
            f"  put  {path.name:24} → {result.asset_id} v{result.version} "
            f"({human_size(result.size)})"
        )
    return time.perf_counter() - started


def _get_all(ctx: typer.Context, v: Vault, files: list[Path], out: Path) -> float:
    started = time.perf_counter()
    for path in files:
        target = out / path.name
        with progress_bar(ctx, f"get {path.name}", None) as tick:
            v.assets.get(path.name, target, progress=tick)
        same = _sha256(target) == _sha256(path)
        _say(f"  get  {path.name:24} → verified, identical: {'yes' if same else 'NO'}")
        if not same:
            raise typer.Exit(1)
    return time.perf_counter() - started


def _tamper(v: Vault, home: Path, out: Path) -> str:
    version = v.assets.versions("blade-rev-c.step")[-1]
    site = home / "sites" / "local-de"
    blob = next(p for p in site.rglob(version.version_id) if p.is_file())
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0x01
    blob.write_bytes(bytes(data))
    target = out / "tampered.step"
    try:
        v.assets.get("blade-rev-c.step", target)
    except ForgekeepError as exc:
        left = "none" if not target.exists() else "LEFT BEHIND"
        return f"{exc.code} ({exc.message}); output file: {left}"
    raise typer.Exit(1)


def run_demo(ctx: typer.Context, *, keep: Path | None, big_mib: int) -> None:
    with _scratch(keep) as root:
        home = root / "workspace"
        passphrase = secrets.token_urlsafe(18).encode()
        _say(f"1. init: workspace {home}")
        security_office = generate_signer("security-office.demo")
        ids = Workspace(home).init(
            passphrase=passphrase,
            admin=AdminSpec("Demo Admin", ("DE",), "DE", org="demo-works"),
            trusted_issuers=[encode_vkey(security_office.verifier)],
        )
        _say(f"   tenant {ids.tenant_id}, admin {ids.principal_id} (a pseudonym), site local-de")
        files = _inputs(ctx, root, big_mib)
        out = root / "out"
        out.mkdir()
        with Workspace(home).open(passphrase=passphrase) as v:
            record = issue_vetting_record(
                security_office,
                subject=ids.principal_id,
                clearance=3,
                expires=dt.datetime.now(dt.UTC) + dt.timedelta(days=1),
                evidence="demo-case-1",
            )
            vetting = v.vetting.import_record(record)
            _say(
                f"   the security office's signed vetting record: clearance {vetting.clearance},"
                f" until {vetting.expires:%Y-%m-%d} (Cedar refuses unvetted people)"
            )
            v.projects.create("turbine-blade", residency="DE")
            _say("2. put: project turbine-blade (residency DE)")
            put_s = _put_all(ctx, v, files)
            _say("3. ls:")
            table = Table("name", "id", "ver", "size", "class")
            for item in v.assets.ls():
                table.add_row(
                    item.name,
                    item.id,
                    str(item.versions),
                    human_size(item.latest.size),
                    item.latest.classification,
                )
            stdout.print(table)
            _say("4. get and verify:")
            get_s = _get_all(ctx, v, files, out)
            _say("5. flip one byte of the STEP model's ciphertext on disk, then get it:")
            _say(f"   refused: {_tamper(v, home, out)}")
        total = sum(p.stat().st_size for p in files)
        plain_hits = sum(
            b"ISO-10303-21" in p.read_bytes() for p in (home / "sites").rglob("*") if p.is_file()
        )
        _say("6. summary:")
        _say(
            f"   {len(files)} assets, {human_size(total)} in; put {total / put_s / 1e6:.0f} MB/s,"
            f" get {total / get_s / 1e6:.0f} MB/s"
        )
        _say(f"   site files containing the STEP plaintext marker: {plain_hits}")
        stderr.print("demo complete", highlight=False)
