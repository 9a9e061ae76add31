"""What can be asked of the service: every action, the kind of resource it acts
on, and the Cedar action that decides it.

Security rules:

* Every service action is listed here with exactly one resource scope (tenant,
  project or asset); ``service._core.request`` refuses to run an action that a
  Cedar decision has not allowed, so there is no path around the policies.
* Roles are a closed list; the Cedar baseline gives each its least privileges.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final


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
    PRINCIPAL_ERASE = "principal.erase"
    PRINCIPAL_HOLD = "principal.hold"
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
    TOKEN_CREATE = "token.create"  # noqa: S105 (an action name, not a secret)
    TOKEN_LIST = "token.list"  # noqa: S105 (an action name, not a secret)
    TOKEN_REVOKE = "token.revoke"  # noqa: S105 (an action name, not a secret)
    POLICY_SHOW = "policy.show"
    POLICY_APPLY = "policy.apply"
    ACCESS_EXPLAIN = "access.explain"
    BREAK_GLASS = "break-glass.request"
    LEDGER_READ = "ledger.read"
    LEDGER_CHECKPOINT = "ledger.checkpoint"
    LEDGER_VERIFY = "ledger.verify"
    LEDGER_WITNESSES = "ledger.witnesses"
    LEDGER_SETUP = "ledger.setup"  # creates the log's signing key (once)
    LEDGER_REPAIR = "ledger.repair"


class Scope(enum.Enum):
    TENANT = "Tenant"
    PROJECT = "Project"
    ASSET = "Asset"


@dataclass(frozen=True, slots=True)
class ActionSpec:
    scope: Scope
    cedar: str  # the Cedar action id that decides it


_ASSET_ACTIONS: Final = {
    Action.ASSET_GET: "download",
    Action.ASSET_VERSIONS: "inspect",
    Action.ASSET_REMOVE: "delete",
    Action.ASSET_CLASSIFY: "classify",
    Action.ASSET_PUT: "modify",  # a new asset is decided as "create" on its project
}
_PROJECT_ACTIONS: Final = {
    Action.PROJECT_SHOW: "project.show",
    Action.PROJECT_SET: "project.set",
}

#: Tenant actions decided by another Cedar action than their own name.
_TENANT_ACTIONS: Final = {
    Action.LEDGER_REPAIR: "vault.repair",  # an operator's repair, like `fsck --repair`
}

SPECS: Mapping[Action, ActionSpec] = {
    action: (
        ActionSpec(Scope.ASSET, _ASSET_ACTIONS[action])
        if action in _ASSET_ACTIONS
        else ActionSpec(Scope.PROJECT, _PROJECT_ACTIONS[action])
        if action in _PROJECT_ACTIONS
        else ActionSpec(Scope.TENANT, _TENANT_ACTIONS.get(action, str(action)))
    )
    for action in Action
}

#: Roles a principal may hold; what each may do is written in the Cedar baseline.
ROLES: Final = ("admin", "approver", "auditor", "reader", "writer")

#: Classification names and the clearance level each needs.
CLASSIFICATION_LEVELS: Mapping[str, int] = {
    "public": 0,
    "internal": 1,
    "confidential": 2,
    "secret": 3,
}


@dataclass(frozen=True, slots=True)
class Decision:
    """One authorization decision, as journaled and explained."""

    allowed: bool
    policies: tuple[str, ...]
    reasons: tuple[str, ...]
    licence: str | None = None
    export_auth: str | None = None
    break_glass: str | None = None

    @property
    def reason(self) -> str:
        return ",".join(self.reasons) if self.reasons else "allowed"
