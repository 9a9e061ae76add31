"""``forgekeep doctor``: checks that need no passphrase and change nothing.

Security rule: doctor reads only what anyone who can read the workspace files
can read, and shows counts and indexes, never an entry. It needs no
authorization because it writes nothing, not even a log entry, which is what
lets it diagnose a log that can take no new entry (a broken tail).

``doctor --fix`` is the one exception, and needs the unlocked keyring: it runs
the idempotent set-up steps a workspace made by an older release lacks (today:
the log's signing key, :func:`forgekeep.service.ledger.key.ensure_log_key`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from forgekeep.config import load_settings
from forgekeep.db.engine import HEAD_REVISION, current_revision, make_engine, make_sessionmaker
from forgekeep.db.ledger import Checkpoint as CheckpointRow
from forgekeep.db.ledger import LedgerKey
from forgekeep.errors import ForgekeepError
from forgekeep.ledger import log
from forgekeep.service import wiring
from forgekeep.storage.protocol import LocalDirectoryStore


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str


def _check_config(home: Path) -> Check:
    try:
        settings = load_settings(home)
    except ForgekeepError as exc:
        return Check("config", False, exc.diagnostics().splitlines()[0])
    return Check("config", True, f"tenant {settings.workspace.tenant}")


def _check_database(home: Path) -> Check:
    try:
        engine = make_engine(wiring.database_url(home, load_settings(home)))
        revision = current_revision(engine)
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 (doctor reports every failure as a finding)
        return Check("database", False, f"{type(exc).__name__}: {exc}")
    ok = revision == HEAD_REVISION
    fix = "" if ok or (revision or "") > HEAD_REVISION else "; run `forgekeep migrate`"
    return Check("database", ok, f"schema revision {revision} (expected {HEAD_REVISION}){fix}")


def _check_log_key(home: Path) -> Check:
    try:
        settings = load_settings(home)
        engine = make_engine(wiring.database_url(home, settings))
        try:
            with engine.connect() as connection:
                vkey = connection.execute(
                    select(LedgerKey.vkey).where(LedgerKey.tenant_id == settings.workspace.tenant)
                ).scalar()
        finally:
            engine.dispose()
    except Exception as exc:  # noqa: BLE001 (doctor reports every failure as a finding)
        return Check("log key", False, f"{type(exc).__name__}: {exc}")
    if vkey is None:
        return Check("log key", False, "missing: run `forgekeep doctor --fix` (an admin)")
    return Check("log key", True, vkey)


def _check_keyring(home: Path) -> Check:
    try:
        summary = wiring.describe_keyring(home)
        agent = wiring.agent_info(home)
    except ForgekeepError as exc:
        return Check("keyring", False, f"{exc.code}: {exc.message}")
    state = "unlocked by agent" if agent else "locked"
    return Check("keyring", True, f"{summary}, {state}")


def _ledger_detail(state: log.TailState, covered: int) -> tuple[bool, str]:
    missing = state.missing
    if missing:
        return False, (
            f"broken at its tail: entries {missing.start} to {missing.stop - 1} are missing"
            " (their hashes are stored); restore them with `forgekeep ledger repair"
            " --from-export DIR`, or, if no checkpoint covers them, `forgekeep ledger"
            " repair --drop-uncovered` (docs/operations.md)"
        )
    if state.entries != state.size:
        return False, (
            f"{state.size - state.entries} entries are missing inside the log (highest index"
            f" {state.size - 1}); restore the metadata database from a backup"
        )
    if state.hashed_size != state.size:
        return False, "its stored hashes do not match its entries; run `forgekeep ledger verify`"
    waiting = f", {state.size - covered} awaiting a checkpoint" if covered < state.size else ""
    return True, f"{state.size} entries, newest checkpoint at size {covered}{waiting}"


def _check_ledger(home: Path) -> Check:
    """The log's rows counted (no entry read, nothing written)."""
    try:
        settings = load_settings(home)
        engine = make_engine(wiring.database_url(home, settings))
        try:
            with make_sessionmaker(engine)() as session:
                tenant = settings.workspace.tenant
                state = log.tail_state(session, tenant)
                covered = session.scalar(
                    select(func.max(CheckpointRow.size)).where(CheckpointRow.tenant_id == tenant)
                )
        finally:
            engine.dispose()
    except Exception as exc:  # noqa: BLE001 (doctor reports every failure as a finding)
        return Check("ledger", False, f"{type(exc).__name__}: {exc}")
    ok, detail = _ledger_detail(state, int(covered or 0))
    return Check("ledger", ok, detail)


def _check_sites(home: Path) -> list[Check]:
    try:
        settings = load_settings(home)
        sites = wiring.open_sites(home, settings)
    except ForgekeepError as exc:
        return [Check("sites", False, exc.message)]
    checks = []
    for name, site in sites.items():
        store = site.store
        writable = (
            isinstance(store, LocalDirectoryStore)
            and store.root.is_dir()
            and os.access(store.root, os.W_OK)
        )
        checks.append(
            Check(
                f"site {name}",
                writable,
                f"{site.jurisdiction}, {'writable' if writable else 'not writable'}",
            )
        )
    return checks


def run_checks(home: Path) -> list[Check]:
    first = _check_config(home)
    if not first.ok:
        return [first]
    database = _check_database(home)
    checks = [first, database, _check_keyring(home), *_check_sites(home)]
    if database.ok:
        checks.insert(2, _check_log_key(home))
        checks.append(_check_ledger(home))
    return checks
