"""Importing the state files of workspaces made before migration 0005.

Before 0005, legal holds lived in ``legal-holds.json`` and the log's witnesses
in ``witnesses.toml`` and ``witnesses-state.json``. :func:`import_legacy_state`
moves them into the metadata database once; ``forgekeep migrate`` calls it,
and so does opening a workspace while any of the files is still there.

Security rules:

* Nothing is dropped silently. Every file is parsed and checked in full before
  anything is written; a malformed file (or a witness whose CA bundle cannot be
  read) is a :class:`LegacyStateError` naming it, and the workspace does not
  open until it is repaired. An unreadable hold file never means "no holds".
* The import is one transaction with one journal event, and it is idempotent:
  a hold merges with a hold already in the database by keeping the later end
  (a re-import never shortens or lifts a hold), and a witness already in the
  database is kept as it is.
* Only after the commit is each file renamed to ``<name>.imported`` (never
  overwriting an earlier one), so a crash in between imports it again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from sqlalchemy.orm import Session

from forgekeep import limits
from forgekeep.db.state import LegalHold, Witness
from forgekeep.errors import ForgekeepError, LegacyStateError, NotFoundError
from forgekeep.ledger.journal import JournalEvent, Outcome
from forgekeep.service.context import ServiceContext
from forgekeep.service.core import new_request_id
from forgekeep.service.ledger.holds import check_reason, locked_principal
from forgekeep.service.ledger.witnesses import (
    WitnessInfo,
    check_witness,
    new_witness_row,
    read_cacert,
)

HOLDS_FILE: Final = "legal-holds.json"
WITNESSES_FILE: Final = "witnesses.toml"
WITNESS_STATE_FILE: Final = "witnesses-state.json"
LEGACY_FILES: Final = (HOLDS_FILE, WITNESSES_FILE, WITNESS_STATE_FILE)
IMPORTED_SUFFIX: Final = ".imported"


@dataclass(frozen=True, slots=True)
class ImportReport:
    holds: int
    witnesses: int
    renamed: tuple[str, ...]  # the files now named ``*.imported``


@dataclass(frozen=True, slots=True)
class _Hold:
    principal: str
    until: dt.datetime
    reason: str
    set_by: str
    set_at: dt.datetime


def legacy_files(home: Path) -> list[Path]:
    """The legacy state files still waiting to be imported."""
    return [home / name for name in LEGACY_FILES if (home / name).exists()]


def _read(path: Path) -> bytes:
    try:
        if path.stat().st_size > limits.MAX_CONFIG_BYTES:
            raise LegacyStateError(f"{path.name} is over {limits.MAX_CONFIG_BYTES} bytes")
        return path.read_bytes()
    except OSError as exc:
        raise LegacyStateError(f"{path.name} cannot be read: {exc.strerror or exc}") from exc


def _time(value: object, where: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        parsed = None
    if parsed is None or parsed.utcoffset() is None:
        raise LegacyStateError(f"{where} is not an ISO 8601 time with a timezone")
    return parsed.astimezone(dt.UTC)


def _hold(pseudonym: str, entry: object, tenant: str) -> _Hold:
    where = f"{HOLDS_FILE}, hold of {pseudonym}"
    if not isinstance(entry, dict) or entry.get("tenant") != tenant:
        raise LegacyStateError(f"{where} is malformed or names another tenant")
    try:
        reason = check_reason(entry.get("reason"))  # type: ignore[arg-type]
    except ForgekeepError as exc:
        raise LegacyStateError(f"{where}: {exc.message}") from exc
    set_by = entry.get("set_by")
    if not isinstance(set_by, str) or not 1 <= len(set_by) <= 64:
        raise LegacyStateError(f"{where} has no set_by")
    until = _time(entry.get("until"), f"{where}: until")
    return _Hold(pseudonym, until, reason, set_by, _time(entry.get("set_at"), f"{where}: set_at"))


def _parse_holds(path: Path, tenant: str) -> list[_Hold]:
    try:
        loaded = json.loads(_read(path))
    except ValueError as exc:
        raise LegacyStateError(f"{HOLDS_FILE} is not JSON, so legal holds are unknown") from exc
    holds = loaded.get("holds") if isinstance(loaded, dict) else None
    if not isinstance(holds, dict):
        raise LegacyStateError(f"{HOLDS_FILE} is malformed, so legal holds are unknown")
    return [_hold(str(pseudonym), entry, tenant) for pseudonym, entry in holds.items()]


def _witness(item: object) -> WitnessInfo:
    if not isinstance(item, dict) or set(item) != {"name", "url", "vkey", "cacert"}:
        raise LegacyStateError(f"{WITNESSES_FILE}: each [[witness]] has name, url, vkey, cacert")
    try:
        check_witness(item["name"], item["url"], item["vkey"])
        pem = read_cacert(Path(str(item["cacert"])))
    except ForgekeepError as exc:
        name = item["name"]
        raise LegacyStateError(f"{WITNESSES_FILE}, witness {name!r}: {exc.message}") from exc
    return WitnessInfo(item["name"], item["url"].rstrip("/"), item["vkey"], item["cacert"], pem)


def _parse_witnesses(path: Path) -> list[WitnessInfo]:
    try:
        raw = tomllib.loads(_read(path).decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise LegacyStateError(f"{WITNESSES_FILE} is not valid TOML: {exc}") from exc
    items = raw.get("witness", [])
    if not isinstance(items, list) or len(items) > limits.MAX_LOG_WITNESSES:
        raise LegacyStateError(
            f"{WITNESSES_FILE} holds a list of at most {limits.MAX_LOG_WITNESSES} witnesses"
        )
    return [_witness(item) for item in items]


def _parse_states(path: Path) -> dict[str, tuple[int, list[Any]]]:
    try:
        raw = json.loads(_read(path))
        states = {
            str(name): (int(value["last_size"]), list(value["failures"]))
            for name, value in raw.items()
        }
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise LegacyStateError(f"{WITNESS_STATE_FILE} is damaged: {exc}") from exc
    if any(size < 0 for size, _ in states.values()):
        raise LegacyStateError(f"{WITNESS_STATE_FILE} holds a negative size")
    return states


def _import_hold(session: Session, ctx: ServiceContext, hold: _Hold) -> None:
    try:
        locked_principal(session, ctx, hold.principal)
    except NotFoundError as exc:
        raise LegacyStateError(f"{HOLDS_FILE} holds unknown principal {hold.principal}") from exc
    row = session.get(LegalHold, (ctx.tenant_id, hold.principal), with_for_update=True)
    if row is None:
        row = LegalHold(tenant_id=ctx.tenant_id, principal_id=hold.principal, until=hold.until)
        session.add(row)
    elif row.released_at is None and row.until >= hold.until:
        return  # the database already holds at least as long
    row.until, row.reason = hold.until, hold.reason
    row.set_by, row.set_at = hold.set_by, hold.set_at
    row.released_at = row.released_by = row.release_approval = None


def _import_witnesses(
    session: Session,
    ctx: ServiceContext,
    witnesses: list[WitnessInfo],
    states: dict[str, tuple[int, list[Any]]],
) -> int:
    added = 0
    for info in witnesses:
        size, failures = states.get(info.name, (0, []))
        row = session.get(Witness, (ctx.tenant_id, info.name), with_for_update=True)
        if row is None:
            session.add(new_witness_row(ctx, info, last_size=size, failures=failures))
            added += 1
        elif row.last_size < size:
            row.last_size = size
    return added


def _rename(path: Path) -> str:
    target, n = path.with_name(path.name + IMPORTED_SUFFIX), 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}{IMPORTED_SUFFIX}-{n}")
    with contextlib.suppress(FileNotFoundError):  # another process imported it meanwhile
        path.rename(target)
        return target.name
    return ""


def import_legacy_state(ctx: ServiceContext) -> ImportReport:
    """Move pre-0005 holds and witnesses into the database; rename the files (idempotent)."""
    files = legacy_files(ctx.home)
    if not files:
        return ImportReport(0, 0, ())
    home = ctx.home
    holds = _parse_holds(home / HOLDS_FILE, ctx.tenant_id) if home / HOLDS_FILE in files else []
    witnesses = _parse_witnesses(home / WITNESSES_FILE) if home / WITNESSES_FILE in files else []
    states = _parse_states(home / WITNESS_STATE_FILE) if home / WITNESS_STATE_FILE in files else {}
    with ctx.sessions() as session:
        for hold in holds:
            _import_hold(session, ctx, hold)
        added = _import_witnesses(session, ctx, witnesses, states)
        ctx.journal.append(
            session,
            JournalEvent(
                action="workspace.import-state",
                outcome=Outcome.OK,
                actor=ctx.principal_id,
                target=ctx.tenant_id,
                request_id=new_request_id(),
                detail={"holds": len(holds), "witnesses": added, "files": len(files)},
            ),
        )
        session.commit()
    renamed = tuple(name for name in (_rename(path) for path in files) if name)
    return ImportReport(len(holds), added, renamed)
