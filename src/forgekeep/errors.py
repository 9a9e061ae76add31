"""One error root for all of Forgekeep, with stable codes.

Every error Forgekeep raises on purpose is a :class:`ForgekeepError`. Each class
carries a stable ``code`` (``FK-<AREA>-<NNN>``) that never changes meaning, a
default ``hint`` naming the next thing to try, and the CLI exit code it maps to.
Domain errors carry no HTTP status: a later API maps codes to statuses in one
table. Codes are documented in ``docs/errors.md``; the anchor is the code in
lower case.

Security rule: error messages never contain key material, plaintext, or the
personal attributes of a principal. A denial names its reason code and its
request id, nothing more.

The tree::

    ForgekeepError                      FK-GEN-000   exit 1
    ├── UsageError                      FK-USAGE-001 exit 2
    │   ├── InvalidNameError            FK-USAGE-002 exit 2
    │   └── InputMissingError           FK-USAGE-003 exit 2
    ├── ConfigError                     FK-CONFIG-001
    │   ├── WorkspaceError              FK-CONFIG-002
    │   └── LegacyStateError            FK-CONFIG-003 (a pre-0005 state file cannot be imported)
    ├── NotFoundError                   FK-NOTFOUND-001
    ├── ConflictError                   FK-CONFLICT-001
    │   ├── LegalHoldError              FK-CONFLICT-002 (records kept: no erasure)
    │   └── LeaseLostError              FK-CONFLICT-003 (an upload's lease was taken over)
    ├── LimitExceededError              FK-LIMIT-001
    ├── FormatError                     FK-FORMAT-001
    │   ├── UnknownVersionError         FK-FORMAT-002
    │   └── HeaderLimitError            FK-FORMAT-003
    ├── IntegrityError                  FK-INTEGRITY-001
    │   ├── TruncatedError              FK-INTEGRITY-002
    │   ├── CommitmentMismatchError     FK-INTEGRITY-003
    │   ├── DigestMismatchError         FK-INTEGRITY-004
    │   ├── ProofError                  FK-LEDGER-001 (an inclusion or consistency proof fails)
    │   ├── CheckpointError             FK-LEDGER-002 (a checkpoint, note or signature is bad)
    │   └── ForkError                   FK-LEDGER-003 (two views of the log disagree)
    ├── KeyManagerError                 FK-KEY-001
    │   ├── WrongPassphraseError        FK-KEY-002
    │   ├── KeyringLockedError          FK-KEY-003
    │   ├── KeyUnavailableError         FK-KEY-004   (disabled or destroyed)
    │   ├── UnwrapError                 FK-KEY-005
    │   └── AgentError                  FK-KEY-006
    ├── StorageError                    FK-STORE-001
    │   ├── DiskFullError               FK-STORE-002
    │   └── BlobNotFoundError           FK-STORE-003
    ├── LogKeyMissingError              FK-LEDGER-010 (no log key yet: run the set-up step)
    ├── NotYetCoveredError              FK-LEDGER-011 exit 4 (no cosigned checkpoint covers it yet)
    ├── JournalError                    FK-JOURNAL-001
    ├── DatabaseError                   FK-DB-001
    │   ├── SchemaVersionError          FK-DB-002 (the schema is older or newer than the code)
    │   └── DatabaseUnavailableError    FK-DB-003 (the database cannot be reached)
    └── AccessDeniedError               FK-AUTHZ-001 exit 3
        ├── AuthenticationError         FK-AUTHZ-002 exit 3 (token, JWT or certificate refused)
        └── ApprovalRequiredError       FK-AUTHZ-003 exit 3 (waits for approvals)
"""

from __future__ import annotations

from typing import ClassVar

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_DENIED = 3
EXIT_FINDINGS = 4
# Not done yet, nothing wrong: run again later or with --wait. CLI.md has no code of its
# own for it; `approvals show --wait` already exits 4 while pending, so proofs do too.
EXIT_PENDING = EXIT_FINDINGS


class ForgekeepError(Exception):
    """Root of every error Forgekeep raises on purpose."""

    code: ClassVar[str] = "FK-GEN-000"
    exit_code: ClassVar[int] = EXIT_ERROR
    default_hint: ClassVar[str] = "run `forgekeep doctor` to check the workspace"

    def __init__(self, message: str, *, hint: str | None = None, request_id: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint
        self.request_id = request_id

    @property
    def docs_anchor(self) -> str:
        """Anchor of this code in ``docs/errors.md``."""
        return f"docs/errors.md#{self.code.lower()}"

    def diagnostics(self) -> str:
        """The two lines the CLI prints: ``error[CODE]: message`` and ``hint: …``."""
        lines = [f"error[{self.code}]: {self.message}"]
        if self.request_id:
            lines[0] += f" (request {self.request_id})"
        if self.hint:
            lines.append(f"hint: {self.hint}")
        return "\n".join(lines)


class UsageError(ForgekeepError):
    code = "FK-USAGE-001"
    exit_code = EXIT_USAGE
    default_hint = "run the command with --help"


class InvalidNameError(UsageError):
    code = "FK-USAGE-002"
    default_hint = "names are 1-255 bytes of UTF-8 without '/', NUL or a leading '.'"


class InputMissingError(UsageError):
    code = "FK-USAGE-003"
    default_hint = "check the path; nothing was changed"


class ConfigError(ForgekeepError):
    code = "FK-CONFIG-001"
    default_hint = "check forgekeep.toml against docs/operations.md"


class WorkspaceError(ConfigError):
    code = "FK-CONFIG-002"
    default_hint = "run `forgekeep init --workspace DIR` or set FORGEKEEP_HOME"


class LegacyStateError(ConfigError):
    """A state file from before migration 0005 is malformed and was not imported."""

    code = "FK-CONFIG-003"
    default_hint = "repair or restore the file named in the message, then run the command again"


class NotFoundError(ForgekeepError):
    code = "FK-NOTFOUND-001"
    default_hint = "run `forgekeep ls` to see what exists"


class ConflictError(ForgekeepError):
    code = "FK-CONFLICT-001"
    default_hint = "choose another name, or inspect the existing object"


class LegalHoldError(ConflictError):
    """A principal's records must be kept (a legal hold, or ITAR/EAR retention)."""

    code = "FK-CONFLICT-002"
    default_hint = "wait until the hold ends, or ask who set it (`forgekeep principals hold`)"


class LeaseLostError(ConflictError):
    """An upload's lease expired and was taken over (by fsck) before the upload committed."""

    code = "FK-CONFLICT-003"
    default_hint = "put the file again; the half-finished upload was swept"


class LimitExceededError(ForgekeepError):
    code = "FK-LIMIT-001"
    default_hint = "see docs/limits.md for the documented maximum sizes"


class FormatError(ForgekeepError):
    code = "FK-FORMAT-001"
    default_hint = "the object is not a Forgekeep stream v1 object; run `forgekeep fsck`"


class UnknownVersionError(FormatError):
    code = "FK-FORMAT-002"
    default_hint = "this object was written by a newer Forgekeep; upgrade to read it"


class HeaderLimitError(FormatError):
    code = "FK-FORMAT-003"
    default_hint = "the header is malformed or hostile; run `forgekeep fsck`"


class IntegrityError(ForgekeepError):
    code = "FK-INTEGRITY-001"
    default_hint = (
        "the stored ciphertext was altered; run `forgekeep fsck` and restore from a replica"
    )


class TruncatedError(IntegrityError):
    code = "FK-INTEGRITY-002"


class CommitmentMismatchError(IntegrityError):
    code = "FK-INTEGRITY-003"
    default_hint = "wrong key or wrong context for this object; run `forgekeep fsck`"


class DigestMismatchError(IntegrityError):
    code = "FK-INTEGRITY-004"


class ProofError(IntegrityError):
    """A Merkle inclusion or consistency proof does not verify."""

    code = "FK-LEDGER-001"
    default_hint = "the log or the proof was altered; run `forgekeep ledger verify`"


class CheckpointError(IntegrityError):
    """A checkpoint, signed note, cosignature or proof file is malformed or badly signed."""

    code = "FK-LEDGER-002"
    default_hint = "check the file and the verifier key (`forgekeep ledger key`)"


class ForkError(IntegrityError):
    """Two checkpoints of one log disagree: evidence of a fork or a rollback."""

    code = "FK-LEDGER-003"
    default_hint = "keep both checkpoints as evidence and alert the log's operator and witnesses"


class LogKeyMissingError(ForgekeepError):
    """The tenant's log has no signing key yet (a workspace made before keys came at init)."""

    code = "FK-LEDGER-010"
    default_hint = "an admin runs `forgekeep doctor --fix` once, with the keyring unlocked"


class NotYetCoveredError(ForgekeepError):
    """No checkpoint that the witnesses cosigned covers the entry yet."""

    code = "FK-LEDGER-011"
    exit_code = EXIT_PENDING
    default_hint = "run the command again with --wait SECONDS"


class KeyManagerError(ForgekeepError):
    code = "FK-KEY-001"
    default_hint = "run `forgekeep doctor` to check the key manager"


class WrongPassphraseError(KeyManagerError):
    code = "FK-KEY-002"
    default_hint = "check FORGEKEEP_PASSPHRASE or --passphrase-file; nothing was changed"


class KeyringLockedError(KeyManagerError):
    code = "FK-KEY-003"
    default_hint = "run `forgekeep unlock`, or set FORGEKEEP_PASSPHRASE(_FILE)"


class KeyUnavailableError(KeyManagerError):
    code = "FK-KEY-004"
    default_hint = "the key is disabled or destroyed; ask the key custodian"


class UnwrapError(KeyManagerError):
    code = "FK-KEY-005"
    default_hint = "the wrapped key or its context was altered; run `forgekeep fsck`"


class AgentError(KeyManagerError):
    code = "FK-KEY-006"
    default_hint = "run `forgekeep lock` and `forgekeep unlock` again"


class StorageError(ForgekeepError):
    code = "FK-STORE-001"
    default_hint = "check the site's path and permissions; run `forgekeep fsck`"


class DiskFullError(StorageError):
    code = "FK-STORE-002"
    default_hint = "free space on the site's volume and retry; nothing was committed"


class BlobNotFoundError(StorageError):
    code = "FK-STORE-003"
    default_hint = "the blob is missing from its site; run `forgekeep fsck`"


class JournalError(ForgekeepError):
    code = "FK-JOURNAL-001"
    default_hint = (
        "the event journal could not be written, so the operation was refused;"
        " `forgekeep doctor` shows whether the log is broken at its tail"
    )


class DatabaseError(ForgekeepError):
    code = "FK-DB-001"
    default_hint = "check the metadata database; run `forgekeep fsck`"


class SchemaVersionError(DatabaseError):
    """The database's schema revision is not the one this release works with."""

    code = "FK-DB-002"
    default_hint = "run `forgekeep migrate` (after a backup), or use the matching forgekeep"


class DatabaseUnavailableError(DatabaseError):
    """The database could not be reached, or dropped the connection mid-request."""

    code = "FK-DB-003"
    default_hint = "nothing was half-written; retry when the database is back"


class AccessDeniedError(ForgekeepError):
    """A policy decision refused the request (was FK-DENIED-001 in 0.1)."""

    code = "FK-AUTHZ-001"
    exit_code = EXIT_DENIED
    default_hint = "run `forgekeep access explain --request R` with the request id"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        request_id: str | None = None,
        reasons: tuple[str, ...] = (),
        policies: tuple[str, ...] = (),
    ):
        super().__init__(message, hint=hint, request_id=request_id)
        self.reasons = reasons  # reason codes of the decision, safe to show
        self.policies = policies  # @id of the policies that decided it


class AuthenticationError(AccessDeniedError):
    """A credential was refused: expired, revoked, forged or of the wrong kind."""

    code = "FK-AUTHZ-002"
    default_hint = "log in again (`forgekeep login`) or ask for a new token"


class ApprovalRequiredError(AccessDeniedError):
    """The action needs approvals by other principals that it does not have yet."""

    code = "FK-AUTHZ-003"
    default_hint = "ask approvers to run `forgekeep approvals approve ID`"


def all_error_classes() -> list[type[ForgekeepError]]:
    """Every error class in the tree, root first (for docs and the code table)."""
    found: list[type[ForgekeepError]] = []
    pending: list[type[ForgekeepError]] = [ForgekeepError]
    while pending:
        cls = pending.pop(0)
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found
