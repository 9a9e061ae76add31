"""The shape of ``witness.toml``: validated on load, so a bad file never half-applies.

Security rules: unknown keys are errors; log origins and every string written back
are free of control characters; each log's verifier key must parse; the witness
name follows the signed-note key-name rules; the ``[http]`` limits bound clients.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from forgekeep import limits
from forgekeep.crypto.signed import VerifierKey, parse_vkey
from forgekeep.errors import ForgekeepError, UsageError
from forgekeep.runner.settings import HttpLimits


def control_free(value: str, what: str) -> str:
    if not value or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValueError(f"{what} is non-empty, with no control characters")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ListenSection(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8443, ge=0, le=65535)


class TlsSection(_Strict):
    cert: str = "tls/witness.crt"
    key: str = "tls/witness.key"


class LogEntry(_Strict):
    origin: str
    vkey: str

    @field_validator("origin")
    @classmethod
    def _origin(cls, value: str) -> str:
        return control_free(value, "a log origin")

    @field_validator("vkey")
    @classmethod
    def _vkey(cls, value: str) -> str:
        try:
            parse_vkey(value)
        except ForgekeepError as exc:
            raise ValueError(exc.message) from None
        return value

    @property
    def verifier(self) -> VerifierKey:
        return parse_vkey(self.vkey)


class WitnessConfig(_Strict):
    name: str
    key: str = "witness.key"
    state: str = "state"
    freeze_window_seconds: int = Field(default=86400, ge=1, le=365 * 86400)
    listen: ListenSection = ListenSection()
    tls: TlsSection = TlsSection()
    http: HttpLimits = HttpLimits()
    log: tuple[LogEntry, ...] = Field(default=(), max_length=limits.MAX_WITNESS_LOGS)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        try:
            VerifierKey(value, bytes(32))  # the signed-note key name rules
        except UsageError as exc:
            raise ValueError(exc.message) from None
        return value

    @field_validator("log")
    @classmethod
    def _unique(cls, value: tuple[LogEntry, ...]) -> tuple[LogEntry, ...]:
        origins = [entry.origin for entry in value]
        if len(origins) != len(set(origins)):
            raise ValueError("each log origin appears once")
        return value
