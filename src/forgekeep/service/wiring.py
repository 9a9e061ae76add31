"""The only place that picks concrete backends.

Security rules:

* The key manager is opened from the workspace's configured URI, with the
  passphrase handed in by the caller or through the user's unlock agent. There
  is no default passphrase and no anonymous principal: opening a vault without
  a principal uses the one ``init`` recorded, and a principal that is not in the
  tenant is denied on every request.
* Blob stores are opened per configured site; only ``file:`` exists in embedded
  mode for now (``s3:`` arrives with the Server issue).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from forgekeep.clock import Clock, SystemClock
from forgekeep.config import DATABASE_URL_FILE_ENV, KdfSection, Settings, load_settings
from forgekeep.db.engine import check_revision, make_engine, make_sessionmaker
from forgekeep.db.url import SQLITE, DatabaseUrl, parse_database_url, read_url_file
from forgekeep.errors import ConfigError, UsageError
from forgekeep.keys import agent as key_agent
from forgekeep.keys.local import (
    KdfParams,
    LocalKeyManager,
    derive_key,
    inspect_keyring,
    keyring_path_from_uri,
)
from forgekeep.keys.protocol import KeyManager
from forgekeep.keys.registry import open_key_manager as open_key_manager_by_uri
from forgekeep.ledger.journal import SqlJournal
from forgekeep.residency import ResidencyRule
from forgekeep.service.access.control import AccessControl, applied_policy, policy_engine
from forgekeep.service.access.tokens import authenticate_token
from forgekeep.service.context import WORKSPACE_AUTH, Authentication, ServiceContext, SiteHandle
from forgekeep.service.ledger import cadence as ledger_cadence
from forgekeep.service.ledger.legacy_state import import_legacy_state, legacy_files
from forgekeep.service.vault import Vault
from forgekeep.storage.registry import open_blob_store

RUN_DIR = ".run"
DEFAULT_DATABASE_URL = "sqlite:///forgekeep.db"


def keyring_path(home: Path, settings: Settings) -> Path:
    """The local keyring file named by ``keys.uri`` (relative to the workspace)."""
    return keyring_path_from_uri(settings.keys.uri, base_dir=home)


def describe_keyring(home: Path) -> str:
    """One line about the keyring file, read without the passphrase (for doctor)."""
    path = keyring_path(home, load_settings(home))
    params = inspect_keyring(path)
    return (
        f"{path.name}, Argon2id {params.memory_kib} KiB x {params.iterations} "
        f"x {params.lanes} lanes"
    )


def kdf_params(section: KdfSection) -> KdfParams:
    return KdfParams(
        memory_kib=section.memory_kib, iterations=section.iterations, lanes=section.lanes
    )


def create_key_manager(
    path: Path, passphrase: bytes, section: KdfSection, clock: Clock
) -> LocalKeyManager:
    return LocalKeyManager.create(path, passphrase, params=kdf_params(section), clock=clock)


def open_key_manager(
    home: Path, settings: Settings, passphrase: bytes | None, clock: Clock
) -> KeyManager:
    """By URI scheme: the passphrase if given, else the running unlock agent, else locked."""
    return open_key_manager_by_uri(
        settings.keys.uri, base_dir=home, passphrase=passphrase, clock=clock
    )


def keyring_unlocked(home: Path) -> bool:
    """True when an unlock agent serves this workspace's keyring."""
    settings = load_settings(home)
    return key_agent.agent_status(keyring_path(home, settings)) is not None


def unlock(home: Path, passphrase: bytes, ttl_seconds: float) -> int:
    """Start the unlock agent for this workspace; returns its pid."""
    path = keyring_path(home, load_settings(home))
    return key_agent.start_agent(path, derive_key(path, passphrase), ttl_seconds=ttl_seconds)


def lock(home: Path) -> bool:
    return key_agent.stop_agent(keyring_path(home, load_settings(home)))


def agent_info(home: Path) -> key_agent.AgentStatus | None:
    return key_agent.agent_status(keyring_path(home, load_settings(home)))


def open_sites(home: Path, settings: Settings) -> dict[str, SiteHandle]:
    return {
        site.name: SiteHandle(
            site.name, site.jurisdiction, open_blob_store(site.uri, base_dir=home, create=False)
        )
        for site in settings.sites
    }


def database_url(home: Path, settings: Settings) -> DatabaseUrl:
    """The workspace's database: ``url``, or the URL kept in ``url_file``.

    A relative SQLite path, and a relative ``url_file``, are taken from the
    workspace. ``FORGEKEEP_DATABASE__URL_FILE`` may deliver the password: its URL
    must name the same database as the config, or it is refused.
    """
    section = settings.database
    if section.url_file is not None:
        checked = read_url_file(home / section.url_file)
    else:
        checked = parse_database_url(section.url or DEFAULT_DATABASE_URL, allow_password=False)
    database = checked.url.database
    if checked.kind == SQLITE and database and not Path(database).is_absolute():
        checked = DatabaseUrl(checked.url.set(database=str(home / database)), SQLITE)
    secret_file = os.environ.get(DATABASE_URL_FILE_ENV)
    if secret_file:
        delivered = read_url_file(Path(secret_file))
        if delivered.redacted() != checked.redacted():
            raise ConfigError(
                f"{DATABASE_URL_FILE_ENV} names another database than forgekeep.toml",
                hint="it may only add the password to the database [database] names",
            )
        checked = delivered
    return checked


def open_database(home: Path, settings: Settings) -> Engine:
    """An engine on the workspace's database, refused unless its schema is the code's."""
    engine = make_engine(database_url(home, settings))
    try:
        check_revision(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def build_context(
    home: Path,
    *,
    passphrase: bytes | None,
    principal: str | None = None,
    clock: Clock | None = None,
    token: str | None = None,
) -> ServiceContext:
    if principal is not None and token is not None:
        raise UsageError(
            "give either a principal or an API token, not both",
            hint="a token already names the principal it acts as",
        )
    settings = load_settings(home)
    engine = open_database(home, settings)
    try:
        ctx = _context_on(
            engine, home, settings, passphrase, principal, clock or SystemClock(), token
        )
        if legacy_files(home):  # pre-0005 state files: imported once, then renamed *.imported
            import_legacy_state(ctx)
    except BaseException:
        engine.dispose()  # a wrong passphrase or token must not leak the connection pool
        raise
    ctx.closers.append(_disposer(engine))
    ctx.closers.append(ledger_cadence.closer(ctx))  # closers run last first: before dispose
    return ctx


def _context_on(
    engine: Engine,
    home: Path,
    settings: Settings,
    passphrase: bytes | None,
    principal: str | None,
    clock: Clock,
    token: str | None,
) -> ServiceContext:
    sessions = make_sessionmaker(engine)
    journal = SqlJournal(settings.workspace.tenant, clock)
    acting, auth = principal or settings.workspace.principal, WORKSPACE_AUTH
    if token is not None:
        grant = authenticate_token(
            sessions, settings.workspace.tenant, token, clock, journal=journal
        )
        acting = grant.principal_id
        auth = Authentication("token", "token", grant.scopes, grant.token_id)
    return ServiceContext(
        home=home,
        settings=settings,
        tenant_id=settings.workspace.tenant,
        principal_id=acting,
        clock=clock,
        sessions=sessions,
        journal=journal,
        access=build_access(sessions, settings),
        key_manager=open_key_manager(home, settings, passphrase, clock),
        sites=open_sites(home, settings),
        run_dir=home / RUN_DIR,
        auth=auth,
    )


def build_access(sessions: sessionmaker[Session], settings: Settings) -> AccessControl:
    """Cedar over the baseline and the newest applied policy set of the tenant."""
    with sessions() as session:
        version, text = applied_policy(session, settings.workspace.tenant)
    rule = settings.access.operator_jurisdictions
    operators = ResidencyRule.parse(rule).countries if rule else frozenset[str]()
    return AccessControl(policy_engine(text), operators, version)


def _disposer(engine: Engine) -> contextlib.ExitStack:
    stack = contextlib.ExitStack()
    stack.callback(engine.dispose)
    return stack


def open_vault(
    home: Path,
    *,
    passphrase: bytes | None,
    principal: str | None = None,
    clock: Clock | None = None,
    token: str | None = None,
) -> Vault:
    """Open the workspace at ``home`` as ``principal`` (default: the one init recorded).

    With ``token``, the API token is authenticated first and the vault acts as
    the token's principal, limited to its scopes (a refusal is journaled).
    """
    return Vault(
        build_context(home, passphrase=passphrase, principal=principal, clock=clock, token=token)
    )
