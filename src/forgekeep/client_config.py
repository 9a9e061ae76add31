"""Client profiles (``config.toml``) and stored API tokens (``credentials``).

Both live in ``$XDG_CONFIG_HOME/forgekeep`` (default ``~/.config/forgekeep``);
``FORGEKEEP_CONFIG`` names another ``config.toml`` (``credentials`` sits beside
it). ``config.toml`` holds ``active = "<name>"`` and ``[profiles.<name>]`` with
either ``workspace = "/path"`` (embedded mode) or ``server``, ``tenant`` and
``cacert`` (split mode, stored and shown; it arrives with the server).

Security rules:

* Tokens never go in ``config.toml``: only the ``credentials`` file holds them.
* ``credentials`` is written atomically with mode 0600, in a 0700 directory,
  and is refused when it is group- or other-accessible or owned by someone
  else (the error says to ``chmod 600`` it). It is never printed.
* Both files are untrusted input: size-bounded before parsing, strict in shape
  (unknown keys are errors), and profile names are validated.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from forgekeep._durable import write_atomic
from forgekeep.errors import ConfigError, InvalidNameError, LimitExceededError, NotFoundError
from forgekeep.limits import MAX_API_TOKEN_CHARS, MAX_CLIENT_CONFIG_BYTES, MAX_PROFILES

CONFIG_FILE = "config.toml"
CREDENTIALS_FILE = "credentials"
_PROFILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
_PROFILE_KEYS = frozenset({"workspace", "server", "tenant", "cacert"})
_MAX_VALUE_CHARS = 4096


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    workspace: Path | None = None
    server: str | None = None
    tenant: str | None = None
    cacert: Path | None = None

    @property
    def mode(self) -> str:
        return "server" if self.server is not None else "embedded"


@dataclass(frozen=True, slots=True)
class ClientConfig:
    active: str | None = None
    profiles: Mapping[str, Profile] = field(default_factory=dict)


def validate_profile_name(name: str) -> str:
    if not isinstance(name, str) or not _PROFILE.fullmatch(name):
        raise InvalidNameError(
            f"profile name {name[:70]!r} is invalid",
            hint="use letters, digits, '.', '_' and '-' (max 63), starting with a letter or digit",
        )
    return name


def profile_name_for(workspace: Path) -> str:
    """A default profile name for a workspace: its directory's name, made valid."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", workspace.name).strip("-._")[:63]
    return cleaned or "default"


def config_dir() -> Path:
    explicit = os.environ.get("FORGEKEEP_CONFIG")
    if explicit:
        return Path(explicit).expanduser().absolute().parent
    base = os.environ.get("XDG_CONFIG_HOME")
    root = Path(base).expanduser() if base else Path.home() / ".config"
    return root.absolute() / "forgekeep"


def config_path() -> Path:
    explicit = os.environ.get("FORGEKEEP_CONFIG")
    return Path(explicit).expanduser().absolute() if explicit else config_dir() / CONFIG_FILE


def credentials_path() -> Path:
    return config_dir() / CREDENTIALS_FILE


# -- reading --------------------------------------------------------------------


def _read_bounded(path: Path, *, private: bool) -> str | None:
    """The file's text, or None when it does not exist; checks size (and privacy)."""
    flags = os.O_RDONLY | (os.O_NOFOLLOW if private else 0)  # credentials: never a symlink
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if private:
            _check_private(path, info)
        if info.st_size > MAX_CLIENT_CONFIG_BYTES:
            raise LimitExceededError(
                f"{path.name} is {info.st_size} bytes; the limit is {MAX_CLIENT_CONFIG_BYTES}"
            )
        data = handle.read(MAX_CLIENT_CONFIG_BYTES + 1)
    if len(data) > MAX_CLIENT_CONFIG_BYTES:
        raise LimitExceededError(f"{path.name} is over {MAX_CLIENT_CONFIG_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8") from None


def _check_private(path: Path, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{path} is not a regular file")
    if info.st_uid != os.getuid():
        raise ConfigError(
            f"{path} belongs to another user; it holds tokens, so it is not read",
            hint=f"remove it, then `forgekeep login` again (or `chown` it to yourself: {path})",
        )
    if info.st_mode & 0o077:
        mode = stat.S_IMODE(info.st_mode)
        raise ConfigError(
            f"{path} is readable by others (mode {mode:04o}); it holds tokens, so it is not read",
            hint=f"run `chmod 600 {path}`",
        )


def _parse(text: str, path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None


def _string(value: object, where: str) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= _MAX_VALUE_CHARS or "\x00" in value:
        raise ConfigError(f"{where} must be a non-empty string")
    return value


def _profile(name: str, table: object, path: Path) -> Profile:
    validate_profile_name(name)
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: profiles.{name} must be a table")
    unknown = sorted(set(table) - _PROFILE_KEYS)
    if unknown:
        raise ConfigError(f"{path}: profiles.{name}: unknown key {unknown[0][:40]!r}")
    values = {k: _string(v, f"{path}: profiles.{name}.{k}") for k, v in table.items()}
    if ("workspace" in values) == ("server" in values):
        raise ConfigError(f"{path}: profiles.{name} needs exactly one of workspace or server")
    return Profile(
        name=name,
        workspace=Path(values["workspace"]) if "workspace" in values else None,
        server=values.get("server"),
        tenant=values.get("tenant"),
        cacert=Path(values["cacert"]) if "cacert" in values else None,
    )


def load_config() -> ClientConfig:
    path = config_path()
    text = _read_bounded(path, private=False)
    if text is None:
        return ClientConfig()
    raw = _parse(text, path)
    unknown = sorted(set(raw) - {"active", "profiles"})
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0][:40]!r}")
    tables = raw.get("profiles", {})
    if not isinstance(tables, dict) or len(tables) > MAX_PROFILES:
        raise ConfigError(f"{path}: profiles must be a table of at most {MAX_PROFILES} profiles")
    profiles = {name: _profile(name, table, path) for name, table in tables.items()}
    active = raw.get("active")
    if active is not None:
        active = validate_profile_name(_string(active, f"{path}: active"))
    return ClientConfig(active=active, profiles=profiles)


def load_credentials() -> dict[str, str]:
    """Profile name → stored token. Refused when the file is not private (0600)."""
    path = credentials_path()
    text = _read_bounded(path, private=True)
    if text is None:
        return {}
    raw = _parse(text, path)
    tables = raw.get("profiles", {})
    if set(raw) - {"profiles"} or not isinstance(tables, dict):
        raise ConfigError(f'{path} holds only [profiles.<name>] token = "…" entries')
    tokens: dict[str, str] = {}
    for name, table in tables.items():
        validate_profile_name(name)
        if not isinstance(table, dict) or set(table) != {"token"}:
            raise ConfigError(f"{path}: profiles.{name} holds exactly one key, token")
        token = table["token"]
        if not isinstance(token, str) or not 0 < len(token) <= MAX_API_TOKEN_CHARS:
            raise ConfigError(f"{path}: profiles.{name}.token is not a token")
        tokens[name] = token
    return tokens


# -- writing --------------------------------------------------------------------


def _quoted(value: str) -> str:
    """A TOML basic string (JSON string escapes are valid TOML escapes)."""
    return json.dumps(value, ensure_ascii=False)


def _ensure_dir() -> Path:
    directory = config_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


def _render_config(config: ClientConfig) -> str:
    lines = ["# Forgekeep client profiles. Tokens live in `credentials`, never here."]
    if config.active is not None:
        lines.append(f"active = {_quoted(config.active)}")
    for name in sorted(config.profiles):
        profile = config.profiles[name]
        lines += ["", f"[profiles.{_quoted(name)}]"]
        for key in ("workspace", "server", "tenant", "cacert"):
            value = getattr(profile, key)
            if value is not None:
                lines.append(f"{key} = {_quoted(str(value))}")
    return "\n".join(lines) + "\n"


def save_config(config: ClientConfig) -> None:
    if len(config.profiles) > MAX_PROFILES:
        raise LimitExceededError(f"at most {MAX_PROFILES} profiles")
    _ensure_dir()
    write_atomic(config_path(), _render_config(config).encode("utf-8"), mode=0o600)


def _save_credentials(tokens: Mapping[str, str]) -> None:
    lines = ["# Forgekeep API tokens, one per profile. Keep this file private (0600)."]
    for name in sorted(tokens):
        lines += ["", f"[profiles.{_quoted(name)}]", f"token = {_quoted(tokens[name])}"]
    _ensure_dir()
    write_atomic(credentials_path(), ("\n".join(lines) + "\n").encode("utf-8"), mode=0o600)


def store_token(profile: str, token: str) -> None:
    """Store ``token`` for ``profile`` in the credentials file (atomic, 0600)."""
    validate_profile_name(profile)
    tokens = load_credentials()
    tokens[profile] = token
    _save_credentials(tokens)


def remove_token(profile: str) -> bool:
    """Forget the token stored for ``profile``; False when there was none."""
    tokens = load_credentials()
    if tokens.pop(profile, None) is None:
        return False
    _save_credentials(tokens)
    return True


def stored_token(profile: str) -> str | None:
    return load_credentials().get(profile)


def put_profile(profile: Profile, *, activate: bool) -> ClientConfig:
    """Add or replace ``profile``; make it the active one when ``activate``."""
    validate_profile_name(profile.name)
    config = load_config()
    profiles = {**config.profiles, profile.name: profile}
    updated = ClientConfig(active=profile.name if activate else config.active, profiles=profiles)
    save_config(updated)
    return updated


def use_profile(name: str) -> ClientConfig:
    """Make ``name`` the active profile."""
    config = load_config()
    if name not in config.profiles:
        raise NotFoundError(f"no profile {name[:70]!r}", hint="run `forgekeep profiles ls`")
    updated = replace(config, active=name)
    save_config(updated)
    return updated


def selected_profile(explicit: str | None = None) -> Profile | None:
    """``--profile``, else ``FORGEKEEP_PROFILE``, else the active profile; None when unset.

    A name given explicitly must exist; a stale ``active`` entry is ignored.
    """
    config = load_config()
    name = explicit or os.environ.get("FORGEKEEP_PROFILE") or None
    if name is not None:
        validate_profile_name(name)
        if name not in config.profiles:
            raise NotFoundError(f"no profile {name[:70]!r}", hint="run `forgekeep profiles ls`")
        return config.profiles[name]
    return config.profiles.get(config.active) if config.active else None
