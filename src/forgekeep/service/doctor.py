"""``forgekeep doctor``: checks that need no passphrase and change nothing.

``doctor --fix`` is the one exception, and needs the unlocked keyring: it runs
the idempotent set-up steps a workspace made by an older release lacks (today:
the log's signing key, :func:`forgekeep.service.ledger_key.ensure_log_key`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from forgekeep.config import load_settings
from forgekeep.db.engine import HEAD_REVISION, current_revision, make_engine
from forgekeep.db.ledger import LedgerKey
from forgekeep.errors import ForgekeepError
from forgekeep.service import wiring


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


def _check_sites(home: Path) -> list[Check]:
    try:
        settings = load_settings(home)
        sites = wiring.open_sites(home, settings)
    except ForgekeepError as exc:
        return [Check("sites", False, exc.message)]
    checks = []
    for name, site in sites.items():
        root = getattr(site.store, "root", None)
        writable = isinstance(root, Path) and root.is_dir() and os.access(root, os.W_OK)
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
    return checks
