"""One table of operations: every vault operation, declared once.

Each :class:`Operation` names the operation (``"assets.put"``), the Cedar
action that decides it (an :class:`~forgekeep.service.authz.Action`, whose
scope is in :data:`~forgekeep.service.authz.SPECS`) and its handler, the use
case that takes the :class:`~forgekeep.service.core.ServiceContext` first.
Request and result types are read from the handler's annotations on demand,
never copied.

The Python API is built from this table: each group class below is one
namespace of the vault (``vault.assets``, ``vault.ledger``, …) whose attributes
are the table's entries, bound to the vault's context when read. The CLI calls
through the same groups, and the authorization-coverage test reads
:data:`OPERATIONS`.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload

from forgekeep.service.access import approvals as approval_ops
from forgekeep.service.access import break_glass as break_glass_ops
from forgekeep.service.access import explain as explain_ops
from forgekeep.service.access import export_auths as export_ops
from forgekeep.service.access import licences as licence_ops
from forgekeep.service.access import policy_admin as policy_ops
from forgekeep.service.access import tokens as token_ops
from forgekeep.service.access.approvals import ApprovalDetail, ApprovalInfo
from forgekeep.service.access.explain import Explanation, WhatIf
from forgekeep.service.access.export_auths import ExportAuthInfo
from forgekeep.service.access.licences import LicenceInfo
from forgekeep.service.access.tokens import TokenInfo
from forgekeep.service.assets import classify as classify_ops
from forgekeep.service.assets import fsck as fsck_ops
from forgekeep.service.assets import projects as project_ops
from forgekeep.service.assets import reading, writing
from forgekeep.service.assets.names import parse_tag
from forgekeep.service.assets.projects import ProjectInfo
from forgekeep.service.authz import SPECS, Action, ActionSpec
from forgekeep.service.context import ServiceContext
from forgekeep.service.ledger import audit as audit_ops
from forgekeep.service.ledger import erasure as erasure_ops
from forgekeep.service.ledger import holds as hold_ops
from forgekeep.service.ledger import key as log_key_ops
from forgekeep.service.ledger import log as log_ops
from forgekeep.service.ledger import proofs as proof_ops
from forgekeep.service.ledger import repair as repair_ops
from forgekeep.service.ledger import verify as verify_ops
from forgekeep.service.ledger import witnesses as witness_ops
from forgekeep.service.ledger.witnesses import Collected
from forgekeep.service.principals import directory as principal_ops
from forgekeep.service.principals import vetting as vetting_ops
from forgekeep.service.principals.directory import PrincipalInfo

__all__ = [
    "GROUPS",
    "OPERATIONS",
    "ApprovalDetail",
    "ApprovalInfo",
    "Bound",
    "Collected",
    "Explanation",
    "ExportAuthInfo",
    "Group",
    "LicenceInfo",
    "Operation",
    "PrincipalInfo",
    "ProjectInfo",
    "TokenInfo",
    "WhatIf",
    "parse_tag",
]

P = ParamSpec("P")
R = TypeVar("R")


class Group:
    """One namespace of the vault; its :class:`Operation` attributes bind to ``ctx``."""

    __slots__ = ("_ctx",)

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx


class Bound(Generic[P, R]):
    """An operation bound to one vault's context: called with the handler's request."""

    __slots__ = ("_ctx", "operation")

    def __init__(self, operation: Operation[P, R], ctx: ServiceContext) -> None:
        self.operation = operation
        self._ctx = ctx

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.operation.handler(self._ctx, *args, **kwargs)

    def __repr__(self) -> str:
        return f"<operation {self.operation.name}>"


@dataclass(frozen=True, slots=True)
class Operation(Generic[P, R]):
    """One operation: its name, the Cedar action that decides it, and its handler.

    ``action`` is ``None`` only for the few operations that no policy decides
    on purpose (each says why in ``undecided``).
    """

    name: str
    action: Action | None
    handler: Callable[Concatenate[ServiceContext, P], R]
    undecided: str = ""

    @property
    def spec(self) -> ActionSpec | None:
        """The action's resource scope and Cedar action id."""
        return None if self.action is None else SPECS[self.action]

    def request_type(self) -> dict[str, Any]:
        """The request's parameters and their types, from the handler's annotations."""
        hints = typing.get_type_hints(self.handler)
        params = list(inspect.signature(self.handler).parameters)[1:]
        return {name: hints[name] for name in params}

    def result_type(self) -> Any:
        """The result's type, from the handler's annotations."""
        return typing.get_type_hints(self.handler)["return"]

    @overload
    def __get__(self, obj: None, owner: type[Group]) -> Operation[P, R]: ...
    @overload
    def __get__(self, obj: Group, owner: type[Group]) -> Bound[P, R]: ...
    def __get__(self, obj: Group | None, owner: type[Group]) -> Operation[P, R] | Bound[P, R]:
        if obj is None:
            return self
        return Bound(self, obj._ctx)


_AUTHN_ONLY = "authentication only: shows the caller its own row, so a refused caller sees why"
_PLUMBING = (
    "host plumbing: changes how events commit, not what is allowed; "
    "every request made while it runs is still decided and journaled"
)


class Assets(Group):
    put = Operation("assets.put", Action.ASSET_PUT, writing.put_asset)
    get = Operation("assets.get", Action.ASSET_GET, reading.get_asset)
    ls = Operation("assets.ls", Action.ASSET_LIST, reading.list_assets)
    versions = Operation("assets.versions", Action.ASSET_VERSIONS, reading.list_versions)
    rm = Operation("assets.rm", Action.ASSET_REMOVE, reading.remove_asset)
    fsck = Operation("assets.fsck", Action.VAULT_FSCK, fsck_ops.fsck)  # --repair: VAULT_REPAIR
    classify = Operation("assets.classify", Action.ASSET_CLASSIFY, classify_ops.classify_asset)


class Projects(Group):
    create = Operation("projects.create", Action.PROJECT_CREATE, project_ops.create_project)
    ls = Operation("projects.ls", Action.PROJECT_LIST, project_ops.list_projects)
    show = Operation("projects.show", Action.PROJECT_SHOW, project_ops.show_project)
    set = Operation("projects.set", Action.PROJECT_SET, project_ops.set_project)


class Principals(Group):
    add_organisation = Operation(
        "principals.add_organisation", Action.PRINCIPAL_ADD, principal_ops.add_organisation
    )
    add_person = Operation("principals.add_person", Action.PRINCIPAL_ADD, principal_ops.add_person)
    add_machine = Operation(
        "principals.add_machine", Action.PRINCIPAL_ADD, principal_ops.add_machine
    )
    ls = Operation("principals.ls", Action.PRINCIPAL_LIST, principal_ops.list_principals)
    organisations = Operation(
        "principals.organisations", Action.PRINCIPAL_LIST, principal_ops.list_organisations
    )
    show = Operation("principals.show", Action.PRINCIPAL_SHOW, principal_ops.show_principal)
    suspend = Operation("principals.suspend", Action.PRINCIPAL_SUSPEND, principal_ops.suspend)
    resume = Operation("principals.resume", Action.PRINCIPAL_SUSPEND, principal_ops.resume)
    set_signing_key = Operation(
        "principals.set_signing_key", Action.PRINCIPAL_SET_KEY, principal_ops.set_signing_key
    )
    whoami = Operation("principals.whoami", None, principal_ops.whoami, undecided=_AUTHN_ONLY)


class Vetting(Group):
    import_record = Operation(
        "vetting.import_record", Action.PRINCIPAL_VET, vetting_ops.import_vetting
    )


class Licences(Group):
    grant = Operation("licences.grant", Action.LICENCE_GRANT, licence_ops.grant_licence)
    revoke = Operation("licences.revoke", Action.LICENCE_REVOKE, licence_ops.revoke_licence)
    ls = Operation("licences.ls", Action.LICENCE_LIST, licence_ops.list_licences)
    show = Operation("licences.show", Action.LICENCE_SHOW, licence_ops.show_licence)


class ExportAuths(Group):
    add = Operation("export_auths.add", Action.EXPORT_AUTH_ADD, export_ops.add_export_auth)
    revoke = Operation(
        "export_auths.revoke", Action.EXPORT_AUTH_REVOKE, export_ops.revoke_export_auth
    )
    ls = Operation("export_auths.ls", Action.EXPORT_AUTH_LIST, export_ops.list_export_auths)


class Tokens(Group):
    create = Operation("tokens.create", Action.TOKEN_CREATE, token_ops.create_token)
    ls = Operation("tokens.ls", Action.TOKEN_LIST, token_ops.list_tokens)
    revoke = Operation("tokens.revoke", Action.TOKEN_REVOKE, token_ops.revoke_token)


class Approvals(Group):
    ls = Operation("approvals.ls", Action.APPROVAL_LIST, approval_ops.list_approvals)
    show = Operation("approvals.show", Action.APPROVAL_SHOW, approval_ops.show_approval)
    approve = Operation("approvals.approve", Action.APPROVAL_DECIDE, approval_ops.approve)
    reject = Operation("approvals.reject", Action.APPROVAL_DECIDE, approval_ops.reject)
    approve_signed = Operation(
        "approvals.approve_signed", Action.APPROVAL_DECIDE, approval_ops.approve_signed
    )
    reject_signed = Operation(
        "approvals.reject_signed", Action.APPROVAL_DECIDE, approval_ops.reject_signed
    )


class Policy(Group):
    request_apply = Operation(
        "policy.request_apply", Action.POLICY_APPLY, policy_ops.request_policy_apply
    )
    apply = Operation("policy.apply", Action.POLICY_APPLY, policy_ops.apply_policy)
    show = Operation("policy.show", Action.POLICY_SHOW, policy_ops.show_policy)


class Access(Group):
    explain = Operation("access.explain", Action.ACCESS_EXPLAIN, explain_ops.explain_request)
    what_if = Operation("access.what_if", Action.ACCESS_EXPLAIN, explain_ops.explain_what_if)


class BreakGlass(Group):
    request = Operation(
        "break_glass.request", Action.BREAK_GLASS, break_glass_ops.request_break_glass
    )
    activate = Operation(
        "break_glass.activate", Action.BREAK_GLASS, break_glass_ops.activate_break_glass
    )
    revoke = Operation("break_glass.revoke", Action.BREAK_GLASS, break_glass_ops.revoke_break_glass)


class Ledger(Group):
    checkpoint = Operation("ledger.checkpoint", Action.LEDGER_CHECKPOINT, log_ops.checkpoint)
    ensure_key = Operation("ledger.ensure_key", Action.LEDGER_SETUP, log_key_ops.ensure_log_key)
    key = Operation("ledger.key", Action.LEDGER_READ, log_ops.verifier_key)
    entry = Operation("ledger.entry", Action.LEDGER_READ, log_ops.entry)
    prove_inclusion = Operation(
        "ledger.prove_inclusion", Action.LEDGER_READ, proof_ops.prove_inclusion
    )
    prove_consistency = Operation(
        "ledger.prove_consistency", Action.LEDGER_READ, log_ops.prove_consistency
    )
    verify = Operation("ledger.verify", Action.LEDGER_VERIFY, verify_ops.verify)
    repair = Operation("ledger.repair", Action.LEDGER_REPAIR, repair_ops.repair)
    ls = Operation("ledger.ls", Action.LEDGER_READ, audit_ops.list_entries)
    export = Operation("ledger.export", Action.LEDGER_READ, audit_ops.export)
    collect = Operation("ledger.collect", Action.LEDGER_CHECKPOINT, witness_ops.collect)
    follow = Operation("ledger.follow", Action.LEDGER_CHECKPOINT, witness_ops.follow)
    group_commit = Operation("ledger.group_commit", None, log_ops.group_commit, undecided=_PLUMBING)


class Witnesses(Group):
    add = Operation("witnesses.add", Action.LEDGER_WITNESSES, witness_ops.add_witness)
    rm = Operation("witnesses.rm", Action.LEDGER_WITNESSES, witness_ops.remove_witness)
    ls = Operation("witnesses.ls", Action.LEDGER_READ, witness_ops.witness_status)


class Holds(Group):
    set = Operation("holds.set", Action.PRINCIPAL_HOLD, hold_ops.set_legal_hold)
    request_release = Operation(
        "holds.request_release", Action.PRINCIPAL_HOLD, hold_ops.request_hold_release
    )
    release = Operation("holds.release", Action.PRINCIPAL_HOLD, hold_ops.release_legal_hold)


class Erasure(Group):
    request = Operation("erasure.request", Action.PRINCIPAL_ERASE, erasure_ops.request_erasure)
    erase = Operation("erasure.erase", Action.PRINCIPAL_ERASE, erasure_ops.erase)


#: The vault's groups, by the attribute each is reached under (``vault.assets``).
GROUPS: dict[str, type[Group]] = {
    "assets": Assets,
    "projects": Projects,
    "principals": Principals,
    "vetting": Vetting,
    "licences": Licences,
    "export_auths": ExportAuths,
    "tokens": Tokens,
    "approvals": Approvals,
    "policy": Policy,
    "access": Access,
    "break_glass": BreakGlass,
    "ledger": Ledger,
    "witnesses": Witnesses,
    "holds": Holds,
    "erasure": Erasure,
}


def _entries() -> Iterator[Operation[Any, Any]]:
    for group in GROUPS.values():
        for value in vars(group).values():
            if isinstance(value, Operation):
                yield value


#: The table: every operation of the vault, by name.
OPERATIONS: dict[str, Operation[Any, Any]] = {op.name: op for op in _entries()}
