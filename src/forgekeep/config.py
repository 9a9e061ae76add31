"""Workspace settings: ``$FORGEKEEP_HOME/forgekeep.toml`` plus ``FORGEKEEP_*`` env vars.

Security rules:

* Secrets never live in the config file or on the command line. The passphrase
  comes from ``FORGEKEEP_PASSPHRASE``, ``FORGEKEEP_PASSPHRASE_FILE``, a
  ``--passphrase-file`` or a prompt (see :func:`read_secret_env`).
* A config file is untrusted input: it is size-limited and validated, and an
  unknown key is an error rather than silently ignored.
* There is no default for a security argument: the key manager URI, the tenant
  and the acting principal must be written by ``forgekeep init``.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from forgekeep.errors import ConfigError, LimitExceededError, WorkspaceError
from forgekeep.limits import MAX_CONFIG_BYTES, MAX_PASSPHRASE_BYTES

CONFIG_NAME = "forgekeep.toml"
_SITE_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WorkspaceSection(_Strict):
    tenant: str
    principal: str


class DatabaseSection(_Strict):
    """Where the metadata lives: ``url`` (no password), or ``url_file`` naming a 0600 file."""

    url: str | None = None
    url_file: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> DatabaseSection:
        if self.url is not None and self.url_file is not None:
            raise ValueError("give url or url_file, not both")
        return self


class KdfSection(_Strict):
    memory_kib: int = Field(default=65536, ge=8, le=4 * 1024 * 1024)
    iterations: int = Field(default=3, ge=1, le=64)
    lanes: int = Field(default=4, ge=1, le=64)


class KeysSection(_Strict):
    uri: str
    kdf: KdfSection = KdfSection()


class SiteSection(_Strict):
    name: str
    jurisdiction: str
    operator: str = "self"
    uri: str

    @field_validator("name")
    @classmethod
    def _name_shape(cls, value: str) -> str:
        if not _SITE_NAME.fullmatch(value):
            raise ValueError("site names are lower-case letters, digits and '-'")
        return value


class UploadSection(_Strict):
    orphan_grace_seconds: int = Field(default=24 * 3600, ge=0)
    #: An upload's lease lasts this long unless renewed (every third of it while it runs);
    #: fsck takes over a crashed upload's lease only once it has expired.
    lease_seconds: int = Field(default=60, ge=1, le=3600)


class VettingSection(_Strict):
    """Issuers whose signed vetting records are accepted; empty means none (no default trust)."""

    trusted_issuers: tuple[str, ...] = ()


class AccessSection(_Strict):
    """Who may operate: a residency rule (e.g. ``"EEA+CH"``) for operators' jurisdictions.

    Operational actions (principal changes, policy apply, licences, repairs) need a
    vetted person located, and acting from, a jurisdiction this rule allows. Empty
    means nowhere: no default.
    """

    operator_jurisdictions: str = ""


class LedgerSection(_Strict):
    """How long a log entry may wait for a signed checkpoint before ``ledger verify`` fails.

    The embedded vault signs a checkpoint when each command that grew the log
    ends, and long-running hosts sign one every second, so an honest entry is
    uncovered for about as long as the command that wrote it runs. The default,
    15 minutes, is well above the longest command we expect (a 1 GiB get takes
    seconds) and above clock skew between hosts, and short enough that a tail
    rewritten after its checkpoints were deleted is flagged by the next daily
    ``ledger verify``. 0 allows no uncovered entry at all.
    """

    max_uncovered_seconds: int = Field(default=900, ge=0, le=7 * 24 * 3600)


class Settings(BaseSettings):
    """Everything a workspace needs to open, after merging file and environment."""

    model_config = SettingsConfigDict(
        env_prefix="FORGEKEEP_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    workspace: WorkspaceSection
    database: DatabaseSection = DatabaseSection()
    keys: KeysSection
    sites: tuple[SiteSection, ...] = Field(min_length=1)
    uploads: UploadSection = UploadSection()
    vetting: VettingSection = VettingSection()
    access: AccessSection = AccessSection()
    ledger: LedgerSection = LedgerSection()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # env wins over the file; the file is passed in as init kwargs.
        return (_WithoutPasswordFile(settings_cls, env_settings), init_settings)


class _WithoutPasswordFile(PydanticBaseSettingsSource):
    """The environment's settings, less ``FORGEKEEP_DATABASE__URL_FILE``: that one only
    delivers the database password, checked against ``[database]`` when the URL is read."""

    def __init__(self, settings_cls: type[BaseSettings], inner: PydanticBaseSettingsSource):
        super().__init__(settings_cls)
        self._inner = inner

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._inner.get_field_value(field, field_name)

    def __call__(self) -> dict[str, Any]:
        values = dict(self._inner())
        database = values.get("database")
        if isinstance(database, dict):
            rest = {k: v for k, v in database.items() if k != "url_file"}
            if rest:
                values["database"] = rest
            else:
                values.pop("database")
        return values


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise WorkspaceError(f"no workspace at {path.parent} ({CONFIG_NAME} missing)") from exc
    if size > MAX_CONFIG_BYTES:
        raise LimitExceededError(f"{path.name} is {size} bytes; the limit is {MAX_CONFIG_BYTES}")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path.name} is not valid TOML: {exc}") from exc


#: Settings that decide who acts, whom to trust, which keys and which records are
#: used: the file only, never the environment.
PINNED_ENV_PREFIXES = (
    "FORGEKEEP_WORKSPACE__",
    "FORGEKEEP_DATABASE__",
    "FORGEKEEP_KEYS__URI",
    "FORGEKEEP_VETTING__",
    "FORGEKEEP_ACCESS__",
    "FORGEKEEP_LEDGER__",
)


#: Delivers the database password only (CLI.md): the URL it holds must name the
#: database ``[database]`` names, so it cannot point the workspace elsewhere.
DATABASE_URL_FILE_ENV = "FORGEKEEP_DATABASE__URL_FILE"


def _refuse_pinned_overrides() -> None:
    for name in os.environ:
        if name.upper() == DATABASE_URL_FILE_ENV:
            continue
        if name.upper().startswith(PINNED_ENV_PREFIXES):
            raise ConfigError(
                f"{name} cannot override the workspace's identity, records, trust or keys",
                hint="edit forgekeep.toml: [workspace], [database], keys.uri, [vetting], [access]",
            )


def load_settings(home: Path) -> Settings:
    """Read ``home/forgekeep.toml`` and apply ``FORGEKEEP_*`` overrides."""
    _refuse_pinned_overrides()
    raw = _read_toml(home / CONFIG_NAME)
    try:
        return Settings(**raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{CONFIG_NAME}: {where}: {first['msg']}") from exc


def resolve_home(workspace: Path | None) -> Path:
    """The workspace directory from ``--workspace`` or ``FORGEKEEP_HOME``."""
    if workspace is not None:
        return workspace.expanduser().resolve()
    env = os.environ.get("FORGEKEEP_HOME")
    if env:
        return Path(env).expanduser().resolve()
    raise WorkspaceError("no workspace given")


def _check_secret(value: bytes, what: str) -> bytes:
    value = value.rstrip(b"\r\n")
    if not value:
        raise ConfigError(f"{what} is empty")
    if len(value) > MAX_PASSPHRASE_BYTES:
        raise LimitExceededError(f"{what} is longer than {MAX_PASSPHRASE_BYTES} bytes")
    return value


def read_secret_file(path: Path, what: str) -> bytes:
    """Read a secret from a file (one trailing newline is dropped)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_PASSPHRASE_BYTES + 3)
    except OSError as exc:
        raise ConfigError(f"cannot read {what} file {path}: {exc.strerror}") from exc
    return _check_secret(data, what)


def read_secret_env(name: str) -> bytes | None:
    """``NAME`` or ``NAME_FILE`` from the environment, or None when neither is set."""
    direct = os.environ.get(name)
    if direct is not None:
        return _check_secret(direct.encode("utf-8"), name)
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        return read_secret_file(Path(file_path), name)
    return None
