"""Authorization for the vault core: default deny, by role.

Security rules:

* Deny by default: an action not granted to one of the principal's roles is
  refused, and so is any principal that is not ``active``.
* Every decision carries a reason code, so a refusal can be explained without
  leaking protected details.
* This role table is the embedded baseline; the Access issue replaces the
  :class:`Authorizer` with Cedar policies behind the same interface.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol


class Action(enum.StrEnum):
    ASSET_PUT = "asset.put"
    ASSET_GET = "asset.get"
    ASSET_LIST = "asset.list"
    ASSET_VERSIONS = "asset.versions"
    ASSET_REMOVE = "asset.remove"
    PROJECT_CREATE = "project.create"
    PROJECT_LIST = "project.list"
    PROJECT_SHOW = "project.show"
    PROJECT_SET = "project.set"
    PRINCIPAL_ADD = "principal.add"
    PRINCIPAL_LIST = "principal.list"
    PRINCIPAL_SHOW = "principal.show"
    PRINCIPAL_SUSPEND = "principal.suspend"
    PRINCIPAL_VET = "principal.vet"
    PRINCIPAL_SET_KEY = "principal.set-key"
    VAULT_FSCK = "vault.fsck"
    VAULT_REPAIR = "vault.repair"
    ASSET_CLASSIFY = "asset.classify"
    LICENCE_GRANT = "licence.grant"
    LICENCE_REVOKE = "licence.revoke"
    LICENCE_LIST = "licence.list"
    LICENCE_SHOW = "licence.show"
    EXPORT_AUTH_ADD = "export-auth.add"
    EXPORT_AUTH_REVOKE = "export-auth.revoke"
    EXPORT_AUTH_LIST = "export-auth.list"
    APPROVAL_LIST = "approval.list"
    APPROVAL_SHOW = "approval.show"
    APPROVAL_DECIDE = "approval.decide"
    TOKEN_CREATE = "token.create"
    TOKEN_LIST = "token.list"
    TOKEN_REVOKE = "token.revoke"
    POLICY_SHOW = "policy.show"
    POLICY_APPLY = "policy.apply"
    ACCESS_EXPLAIN = "access.explain"
    BREAK_GLASS = "break-glass.request"


READ_ACTIONS = frozenset(
    {
        Action.ASSET_GET,
        Action.ASSET_LIST,
        Action.ASSET_VERSIONS,
        Action.PROJECT_LIST,
        Action.PROJECT_SHOW,
    }
)
WRITE_ACTIONS = READ_ACTIONS | {Action.ASSET_PUT, Action.ASSET_REMOVE}
ROLE_GRANTS: Mapping[str, frozenset[Action]] = {
    "admin": frozenset(Action),
    "writer": WRITE_ACTIONS,
    "reader": READ_ACTIONS,
    "auditor": frozenset(
        {
            Action.ASSET_LIST,
            Action.ASSET_VERSIONS,
            Action.VAULT_FSCK,
            Action.PRINCIPAL_LIST,
            Action.PRINCIPAL_SHOW,
        }
    ),
}


@dataclass(frozen=True, slots=True)
class Subject:
    """The acting principal as authorization sees it (pseudonym, roles, status)."""

    id: str
    roles: Sequence[str]
    status: str


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str
    policy: str


class Authorizer(Protocol):
    def decide(self, subject: Subject, action: Action, resource: str) -> Decision: ...


class RoleAuthorizer:
    """Grants an action when one of the subject's roles grants it; denies otherwise."""

    def __init__(self, grants: Mapping[str, frozenset[Action]] = ROLE_GRANTS) -> None:
        self._grants = grants

    def decide(self, subject: Subject, action: Action, resource: str) -> Decision:
        del resource  # roles are global in the embedded baseline
        if subject.status != "active":
            return Decision(False, "principal-not-active", "baseline/active-principal")
        for role in subject.roles:
            if action in self._grants.get(role, frozenset()):
                return Decision(True, "role-grants-action", f"baseline/role/{role}")
        return Decision(False, "no-role-grants-action", "baseline/default-deny")
