"""The service object: every vault operation, for the CLI and the Python API.

``forgekeep.open_workspace(path, passphrase=…, principal=…)`` returns a
:class:`Vault`. The CLI is a thin shell over these methods; none of the
business rules live anywhere else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from forgekeep.crypto.signed import SignerKey
from forgekeep.service._vault_ledger import LedgerFacade
from forgekeep.service.access import approvals as approval_ops
from forgekeep.service.access import break_glass as break_glass_ops
from forgekeep.service.access import explain as explain_ops
from forgekeep.service.access import export_auths as export_ops
from forgekeep.service.access import licences as licence_ops
from forgekeep.service.access import policy_admin as policy_ops
from forgekeep.service.access import tokens as token_ops
from forgekeep.service.assets import classify as classify_ops
from forgekeep.service.assets import fsck, reading
from forgekeep.service.assets import projects as project_ops
from forgekeep.service.assets import writing as assets
from forgekeep.service.barrier import Progress
from forgekeep.service.context import ServiceContext
from forgekeep.service.principals import directory as principal_ops
from forgekeep.service.principals import vetting as vetting_ops


class Vault(LedgerFacade):
    """One workspace opened as one acting principal."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx

    @property
    def context(self) -> ServiceContext:
        return self._ctx

    @property
    def tenant_id(self) -> str:
        return self._ctx.tenant_id

    @property
    def principal_id(self) -> str:
        return self._ctx.principal_id

    def put(
        self,
        source: Path | BinaryIO,
        *,
        project: str,
        name: str | None = None,
        classification: str | None = None,
        tags: Mapping[str, str] | None = None,
        progress: Progress | None = None,
    ) -> assets.PutResult:
        if name is None:
            if not isinstance(source, Path):
                raise ValueError("name is required when putting a stream")
            name = source.name
        return assets.put_asset(
            self._ctx,
            source,
            project=project,
            name=name,
            classification=classification,
            tags=tags,
            progress=progress,
        )

    def get(
        self,
        ref: str,
        out: Path | BinaryIO,
        *,
        project: str | None = None,
        progress: Progress | None = None,
        purpose: str = "unspecified",
        receipt: bool = False,
        receipt_wait: float = 0.0,
    ) -> reading.GetResult:
        return reading.get_asset(
            self._ctx,
            ref,
            out,
            project=project,
            progress=progress,
            purpose=purpose,
            receipt=receipt,
            receipt_wait=receipt_wait,
        )

    def classify(
        self, ref: str, *, export: str, project: str | None = None
    ) -> classify_ops.ClassifyResult:
        return classify_ops.classify_asset(self._ctx, ref, export=export, project=project)

    def explain(self, request_id: str) -> explain_ops.Explanation:
        return explain_ops.explain_request(self._ctx, request_id)

    def what_if(
        self,
        *,
        principal: str,
        action: str,
        asset: str,
        project: str | None = None,
        purpose: str = "unspecified",
    ) -> explain_ops.WhatIf:
        return explain_ops.explain_what_if(
            self._ctx,
            principal=principal,
            action=action,
            asset=asset,
            project=project,
            purpose=purpose,
        )

    def ls(self, *, project: str | None = None) -> list[reading.AssetSummary]:
        return reading.list_assets(self._ctx, project=project)

    def versions(self, ref: str, *, project: str | None = None) -> list[reading.VersionInfo]:
        return reading.list_versions(self._ctx, ref, project=project)

    def rm(self, ref: str, *, project: str | None = None) -> str:
        return reading.remove_asset(self._ctx, ref, project=project)

    def fsck(
        self,
        *,
        repair: bool = False,
        grace: dt.timedelta | None = None,
        progress: Progress | None = None,
    ) -> fsck.FsckReport:
        return fsck.fsck(self._ctx, repair=repair, grace=grace, progress=progress)

    def create_project(
        self,
        name: str,
        *,
        residency: str,
        replicas: int = 1,
        key_ring: str | None = None,
        shred_domain: str = "project",
        owner: str | None = None,
    ) -> project_ops.ProjectInfo:
        return project_ops.create_project(
            self._ctx,
            name,
            residency=residency,
            replicas=replicas,
            key_ring=key_ring,
            shred_domain=shred_domain,
            owner=owner,
        )

    def projects(self) -> list[project_ops.ProjectInfo]:
        return project_ops.list_projects(self._ctx)

    def project(self, name: str) -> project_ops.ProjectInfo:
        return project_ops.show_project(self._ctx, name)

    def set_project(
        self,
        name: str,
        *,
        residency: str | None = None,
        replicas: int | None = None,
        shred_domain: str | None = None,
    ) -> project_ops.ProjectInfo:
        return project_ops.set_project(
            self._ctx, name, residency=residency, replicas=replicas, shred_domain=shred_domain
        )

    def add_organisation(self, name: str, *, jurisdiction: str) -> principal_ops.OrganisationInfo:
        return principal_ops.add_organisation(self._ctx, name, jurisdiction)

    def add_person(
        self,
        *,
        org: str,
        display_name: str,
        citizenships: Sequence[str],
        location: str,
        roles: Sequence[str],
        trainings: Sequence[str] = (),
    ) -> principal_ops.PrincipalInfo:
        return principal_ops.add_person(
            self._ctx, org, display_name, citizenships, location, roles, trainings
        )

    def add_machine(
        self, *, org: str, roles: Sequence[str], fingerprints: Sequence[str]
    ) -> principal_ops.PrincipalInfo:
        return principal_ops.add_machine(self._ctx, org, roles, fingerprints)

    def principals(self) -> list[principal_ops.PrincipalInfo]:
        return principal_ops.list_principals(self._ctx)

    def organisations(self) -> list[principal_ops.OrganisationInfo]:
        return principal_ops.list_organisations(self._ctx)

    def principal(self, principal_id: str) -> principal_ops.PrincipalDetail:
        return principal_ops.show_principal(self._ctx, principal_id)

    def suspend(self, principal_id: str) -> principal_ops.PrincipalInfo:
        return principal_ops.suspend(self._ctx, principal_id)

    def resume(self, principal_id: str) -> principal_ops.PrincipalInfo:
        return principal_ops.resume(self._ctx, principal_id)

    def import_vetting(self, document: bytes) -> vetting_ops.VettingInfo:
        return vetting_ops.import_vetting(self._ctx, document)

    def whoami(self) -> principal_ops.WhoAmI:
        return principal_ops.whoami(self._ctx)

    def grant_licence(  # noqa: PLR0913 (keyword-only: the licence's fields)
        self,
        *,
        licensee: str,
        assets: Sequence[str] = (),
        projects: Sequence[str] = (),
        actions: Sequence[str],
        territory: str,
        purpose: str,
        valid_from: dt.datetime,
        valid_until: dt.datetime,
        licence_id: str | None = None,
    ) -> licence_ops.LicenceInfo:
        return licence_ops.grant_licence(
            self._ctx,
            licensee=licensee,
            assets=assets,
            projects=projects,
            actions=actions,
            territory=territory,
            purpose=purpose,
            valid_from=valid_from,
            valid_until=valid_until,
            licence_id=licence_id,
        )

    def revoke_licence(self, licence_id: str) -> licence_ops.LicenceInfo:
        return licence_ops.revoke_licence(self._ctx, licence_id)

    def licences(self, *, include_revoked: bool = False) -> list[licence_ops.LicenceInfo]:
        return licence_ops.list_licences(self._ctx, include_revoked=include_revoked)

    def licence(self, licence_id: str) -> licence_ops.LicenceInfo:
        return licence_ops.show_licence(self._ctx, licence_id)

    def add_export_auth(  # noqa: PLR0913 (keyword-only: the authorisation's fields)
        self,
        *,
        holder: str,
        kind: str,
        reference: str,
        assets: Sequence[str] = (),
        projects: Sequence[str] = (),
        destinations: str,
        valid_until: dt.datetime,
        covers_126_18: bool = False,
        auth_id: str | None = None,
    ) -> export_ops.ExportAuthInfo:
        return export_ops.add_export_auth(
            self._ctx,
            holder=holder,
            kind=kind,
            reference=reference,
            assets=assets,
            projects=projects,
            destinations=destinations,
            valid_until=valid_until,
            covers_126_18=covers_126_18,
            auth_id=auth_id,
        )

    def revoke_export_auth(self, auth_id: str) -> export_ops.ExportAuthInfo:
        return export_ops.revoke_export_auth(self._ctx, auth_id)

    def export_auths(self, *, include_revoked: bool = False) -> list[export_ops.ExportAuthInfo]:
        return export_ops.list_export_auths(self._ctx, include_revoked=include_revoked)

    def create_token(
        self,
        *,
        label: str,
        scopes: Sequence[str],
        ttl: dt.timedelta,
        principal: str | None = None,
    ) -> tuple[token_ops.TokenInfo, str]:
        """A new API token; the returned text is shown once and never stored."""
        return token_ops.create_token(
            self._ctx, principal=principal, label=label, scopes=scopes, ttl=ttl
        )

    def tokens(self, *, principal: str | None = None) -> list[token_ops.TokenInfo]:
        return token_ops.list_tokens(self._ctx, principal=principal)

    def revoke_token(self, token_id: str) -> token_ops.TokenInfo:
        return token_ops.revoke_token(self._ctx, token_id)

    # -- approvals, policy apply, break-glass --------------------------------

    def set_signing_key(self, principal_id: str, vkey: str) -> principal_ops.SigningKeyInfo:
        return principal_ops.set_signing_key(self._ctx, principal_id, vkey)

    def approvals(self, *, status: str | None = None) -> list[approval_ops.ApprovalInfo]:
        return approval_ops.list_approvals(self._ctx, status=status)

    def approval(self, approval_id: str) -> approval_ops.ApprovalDetail:
        return approval_ops.show_approval(self._ctx, approval_id)

    def approve(self, approval_id: str, signer: SignerKey) -> approval_ops.ApprovalInfo:
        return approval_ops.approve(self._ctx, approval_id, signer)

    def reject(self, approval_id: str, signer: SignerKey) -> approval_ops.ApprovalInfo:
        return approval_ops.reject(self._ctx, approval_id, signer)

    def approve_signed(self, approval_id: str, document: bytes) -> approval_ops.ApprovalInfo:
        return approval_ops.approve_signed(self._ctx, approval_id, document)

    def reject_signed(self, approval_id: str, document: bytes) -> approval_ops.ApprovalInfo:
        return approval_ops.reject_signed(self._ctx, approval_id, document)

    def request_policy_apply(self, text: str) -> approval_ops.ApprovalInfo:
        return policy_ops.request_policy_apply(self._ctx, text)

    def apply_policy(self, approval_id: str) -> policy_ops.PolicyVersionInfo:
        return policy_ops.apply_policy(self._ctx, approval_id)

    def show_policy(self) -> policy_ops.PolicyView:
        return policy_ops.show_policy(self._ctx)

    def request_break_glass(
        self, *, assets: Sequence[str], reason: str, duration: dt.timedelta
    ) -> approval_ops.ApprovalInfo:
        return break_glass_ops.request_break_glass(
            self._ctx, assets=assets, reason=reason, duration=duration
        )

    def activate_break_glass(self, approval_id: str) -> break_glass_ops.BreakGlassInfo:
        return break_glass_ops.activate_break_glass(self._ctx, approval_id)

    def revoke_break_glass(self, grant_id: str) -> break_glass_ops.BreakGlassInfo:
        return break_glass_ops.revoke_break_glass(self._ctx, grant_id)

    def close(self) -> None:
        for closer in reversed(self._ctx.closers):
            closer.__exit__(None, None, None)
        self._ctx.closers.clear()

    def __enter__(self) -> Vault:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
