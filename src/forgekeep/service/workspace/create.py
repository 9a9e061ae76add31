"""Creating a workspace: config, keyring, database, tenant, site, first admin.

Security rules:

* ``init`` refuses a directory that already holds anything, so it can never
  overwrite a keyring or a database.
* The keyring is sealed by the caller's passphrase; there is no default.
* The first admin is recorded by pseudonym only; the display name,
  citizenships and location given to ``init`` are sealed under the admin's own
  subject key. The admin belongs to the tenant's home organisation.
* The first admin is not vetted: until a signed vetting record from an issuer
  listed in ``[vetting] trusted_issuers`` is imported (``principals vet``), the
  baseline policies refuse everything else it asks. Nothing is trusted by default.
* The log's signing key is made here, wrapped under a domain key of its own:
  no later read ever has to create a key.
* ``forgekeep.toml`` is written last: a workspace interrupted during ``init``
  has no config and is never mistaken for a usable one.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, inspect, select

from forgekeep._durable import write_atomic
from forgekeep.clock import Clock, SystemClock
from forgekeep.config import CONFIG_NAME, KdfSection
from forgekeep.crypto.signed import parse_vkey
from forgekeep.db.engine import (
    HEAD_REVISION,
    current_revision,
    make_engine,
    make_sessionmaker,
    migrate,
)
from forgekeep.db.models import KeyRing, Organisation, Principal, Site, Tenant
from forgekeep.db.url import DatabaseUrl, parse_database_url, read_url_file
from forgekeep.errors import ConflictError, UsageError, WorkspaceError
from forgekeep.identity import new_pseudonym, seal_attributes, subject_ring_id
from forgekeep.keys.protocol import KeyManager
from forgekeep.ledger.journal import JournalEvent, Outcome, SqlJournal
from forgekeep.residency import Jurisdiction, ResidencyRule
from forgekeep.service import wiring
from forgekeep.service.ledger.key import create_log_key
from forgekeep.service.principals.checks import validate_display_name, validate_org_name
from forgekeep.storage.sites import Site as SiteSpec

DEFAULT_SITE = SiteSpec(
    name="local-de", jurisdiction="DE", operator="self", store_uri="file:sites/local-de"
)
KEYRING_FILE = "keyring.fk"
DB_FILE = "forgekeep.db"


@dataclass(frozen=True, slots=True)
class InitResult:
    home: Path
    tenant_id: str
    principal_id: str
    asset_ring: str
    site: str
    org_id: str = ""


@dataclass(frozen=True, slots=True)
class AdminSpec:
    """Who the first admin is: sealed personal attributes and the home organisation."""

    name: str
    citizenships: tuple[str, ...]
    location: str
    org: str = "home"


def _toml_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def _trust_text(trusted_issuers: Sequence[str], operators: str) -> str:
    return f"""
[vetting]  # issuers whose signed vetting records are accepted (C2SP vkeys); none by default
trusted_issuers = {_toml_list(trusted_issuers)}

[access]  # operators (principal changes, policy apply, licences) act only from here
operator_jurisdictions = {json.dumps(operators)}

[ledger]  # `ledger verify` fails when log entries wait longer than this for a checkpoint
max_uncovered_seconds = 900
"""


def _database_text(database: DatabaseChoice) -> str:
    if database.url_file is not None:
        return f"url_file = {json.dumps(str(database.url_file))}  # a 0600 file holding the URL"
    if database.url is not None:
        return f"url = {json.dumps(database.url.redacted())}  # password: ~/.pgpass, or url_file"
    return f'url = "sqlite:///{DB_FILE}"  # relative to this directory'


def _config_text(
    tenant: str, principal: str, kdf: KdfSection, site: SiteSpec, database: DatabaseChoice
) -> str:
    return f"""# Forgekeep workspace configuration (embedded mode).
# Every key can be overridden by an environment variable FORGEKEEP_<SECTION>__<KEY>.
# Secrets never go here: the passphrase comes from `forgekeep unlock`,
# FORGEKEEP_PASSPHRASE(_FILE), --passphrase-file, or a prompt.

[workspace]
tenant = "{tenant}"        # the data-owning organisation
principal = "{principal}"  # acting principal (pseudonym) for commands run here

[database]  # SQLite in this directory, or PostgreSQL (forgekeep init --database-url)
{_database_text(database)}

[keys]
uri = "local:{KEYRING_FILE}"  # keyring sealed by an Argon2id key from your passphrase

[keys.kdf]  # Argon2id cost, recorded in the keyring file too
memory_kib = {kdf.memory_kib}
iterations = {kdf.iterations}
lanes = {kdf.lanes}

[[sites]]
name = "{site.name}"
jurisdiction = "{site.jurisdiction}"  # ISO 3166-1 code where this site's disks are
operator = "{site.operator}"
uri = "{site.store_uri}"

[uploads]
orphan_grace_seconds = 86400  # fsck --repair removes orphans older than this
lease_seconds = 60            # an upload's lease (renewed while it runs); fsck waits it out
"""


def _check_empty(home: Path) -> None:
    if home.exists() and not home.is_dir():
        raise WorkspaceError(f"{home} exists and is not a directory")
    if (home / CONFIG_NAME).exists():
        raise ConflictError(f"{home} is already a workspace", hint="use it, or choose another DIR")
    if home.exists() and any(home.iterdir()):
        raise WorkspaceError(
            f"{home} is not empty", hint="init needs a new or empty directory; nothing was changed"
        )


def _tenant_rows(ids: InitResult, subjects: str, now: dt.datetime) -> list[object]:
    rows: list[object] = [
        Tenant(id=ids.tenant_id, name=ids.tenant_id, created_at=now, home_org_id=ids.org_id)
    ]
    rows += [
        KeyRing(
            id=ring,
            tenant_id=ids.tenant_id,
            jurisdiction=DEFAULT_SITE.jurisdiction,
            purpose=purpose,
            key_manager_uri=f"local:{KEYRING_FILE}",
            created_at=now,
        )
        for ring, purpose in ((ids.asset_ring, "assets"), (subjects, "subjects"))
    ]
    rows.append(
        Site(
            name=DEFAULT_SITE.name,
            tenant_id=ids.tenant_id,
            jurisdiction=DEFAULT_SITE.jurisdiction,
            operator=DEFAULT_SITE.operator,
            store_uri=DEFAULT_SITE.store_uri,
            created_at=now,
        )
    )
    return rows


def _admin_row(
    km: KeyManager, ids: InitResult, subjects: str, admin: AdminSpec, now: dt.datetime
) -> Principal:
    """The first admin: a pseudonym, with its personal attributes sealed under its own key."""
    attributes = {
        "display_name": admin.name,
        "citizenships": ",".join(admin.citizenships),
        "location": admin.location,
    }
    wrapped, sealed = seal_attributes(km, subjects, ids.tenant_id, ids.principal_id, attributes)
    return Principal(
        id=ids.principal_id,
        tenant_id=ids.tenant_id,
        kind="person",
        roles=["admin"],
        status="active",
        subject_ring=subjects,
        attrs_wrapped_key=wrapped,
        attrs_sealed=sealed,
        created_at=now,
        org_id=ids.org_id,
        clearance=0,
        trainings=[],
        cert_fingerprints=[],
    )


@dataclass(frozen=True, slots=True)
class DatabaseChoice:
    """The new workspace's database: the SQLite default, a URL, or a URL file."""

    url: DatabaseUrl | None = None
    url_file: Path | None = None

    @classmethod
    def choose(cls, url: str | None, url_file: Path | None) -> DatabaseChoice:
        if url is not None and url_file is not None:
            raise UsageError("give --database-url or --database-url-file, not both")
        if url_file is not None:
            url_file = url_file.expanduser().absolute()
            read_url_file(url_file)  # checked now, read again on every open
            return cls(None, url_file)
        if url is not None:
            return cls(parse_database_url(url, allow_password=False), None)
        return cls()

    def resolve(self, home: Path) -> DatabaseUrl:
        if self.url_file is not None:
            return read_url_file(self.url_file)
        return self.url or parse_database_url(f"sqlite:///{home / DB_FILE}", allow_password=False)


def _check_new_database(engine: Engine) -> bool:
    """Init takes a new database only: empty, or at the head schema with no tenant.

    It never adopts or overwrites one that holds anything. Returns whether the
    schema still has to be created.
    """
    revision = current_revision(engine)
    if revision is None and not inspect(engine).get_table_names():
        return True
    if revision == HEAD_REVISION:
        with engine.connect() as connection:
            if connection.execute(select(Tenant.id).limit(1)).first() is None:
                return False
    raise ConflictError(
        "the database already holds data or another schema",
        hint="give init a new, empty database; nothing was changed",
    )


def _seed_database(
    engine: Engine, km: KeyManager, ids: InitResult, admin: AdminSpec, clock: Clock
) -> None:
    now = clock.now()
    subjects = subject_ring_id(ids.tenant_id, DEFAULT_SITE.jurisdiction)
    km.create_ring(ids.asset_ring)
    km.create_ring(subjects)
    admin_row = _admin_row(km, ids, subjects, admin, now)
    with make_sessionmaker(engine).begin() as session:
        for row in _tenant_rows(ids, subjects, now):
            session.add(row)
            session.flush()
        session.add(
            Organisation(
                id=ids.org_id,
                tenant_id=ids.tenant_id,
                name=admin.org,
                jurisdiction=admin.location,
                created_at=now,
            )
        )
        session.flush()
        session.add(admin_row)
        session.flush()
        log_key = create_log_key(session, km, ids.tenant_id, now)
        SqlJournal(ids.tenant_id, clock).append(
            session,
            JournalEvent(
                action="workspace.init",
                outcome=Outcome.OK,
                actor=ids.principal_id,
                target=ids.tenant_id,
                request_id="req-" + secrets.token_hex(8),
                detail={"site": DEFAULT_SITE.name, "ring": ids.asset_ring, "log_key": log_key},
            ),
        )


def _checked_admin(admin: AdminSpec) -> AdminSpec:
    citizenships = tuple(sorted({Jurisdiction(c).code for c in admin.citizenships}))
    if not citizenships:
        raise UsageError("the first admin needs at least one citizenship (ISO 3166-1 code)")
    validate_display_name(admin.name)
    validate_org_name(admin.org)
    return AdminSpec(admin.name, citizenships, Jurisdiction(admin.location).code, admin.org)


def init_workspace(
    home: Path,
    *,
    passphrase: bytes,
    admin: AdminSpec,
    trusted_issuers: Sequence[str] = (),
    operator_jurisdictions: str | None = None,
    kdf: KdfSection | None = None,
    clock: Clock | None = None,
    database: DatabaseChoice | None = None,
) -> InitResult:
    """Create a new workspace in ``home`` (new or empty).

    ``operator_jurisdictions`` is a residency rule for where operators may act
    from; it defaults to the admin's location. ``database`` puts the metadata
    on PostgreSQL (a new, empty database) instead of SQLite in ``home``.
    """
    database = database or DatabaseChoice()
    clock = clock or SystemClock()
    kdf = kdf or KdfSection()
    home = home.expanduser().absolute()
    admin = _checked_admin(admin)
    operators = operator_jurisdictions or admin.location
    ResidencyRule.parse(operators)
    for vkey in trusted_issuers:
        parse_vkey(vkey)
    _check_empty(home)
    made_home = not home.exists()
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    engine = make_engine(database.resolve(home))
    try:
        try:
            needs_schema = _check_new_database(engine)
        except BaseException:
            if made_home:
                home.rmdir()  # refused before anything was written: leave nothing behind
            raise
        ids = _create(home, passphrase, admin, kdf, clock, engine, needs_schema=needs_schema)
    finally:
        engine.dispose()
    for path in home.glob(f"{DB_FILE}*"):
        path.chmod(0o600)
    write_atomic(
        home / CONFIG_NAME,
        (
            _config_text(ids.tenant_id, ids.principal_id, kdf, DEFAULT_SITE, database)
            + _trust_text(trusted_issuers, operators)
        ).encode(),
        mode=0o600,
    )
    return ids


def _create(
    home: Path,
    passphrase: bytes,
    admin: AdminSpec,
    kdf: KdfSection,
    clock: Clock,
    engine: Engine,
    *,
    needs_schema: bool,
) -> InitResult:
    """Keyring, site directory, schema and first rows (the config is written after)."""
    tenant = "t-" + secrets.token_hex(6)
    ids = InitResult(
        home,
        tenant,
        new_pseudonym(),
        f"{tenant}.de.assets",
        DEFAULT_SITE.name,
        f"o-{secrets.token_hex(8)}",
    )
    km = wiring.create_key_manager(home / KEYRING_FILE, passphrase, kdf, clock)
    (home / "sites").mkdir(mode=0o700)
    (home / "sites" / DEFAULT_SITE.name).mkdir(mode=0o700)
    if needs_schema:
        migrate(engine)
    _seed_database(engine, km, ids, admin, clock)
    return ids
