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

from forgekeep.service import assets, fsck, reading
from forgekeep.service import principals as principal_ops
from forgekeep.service import projects as project_ops
from forgekeep.service._core import ServiceContext
from forgekeep.service._pipeline import Progress


class Vault:
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
        classification: str = "internal",
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
    ) -> reading.GetResult:
        return reading.get_asset(self._ctx, ref, out, project=project, progress=progress)

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
    ) -> project_ops.ProjectInfo:
        return project_ops.create_project(
            self._ctx,
            name,
            residency=residency,
            replicas=replicas,
            key_ring=key_ring,
            shred_domain=shred_domain,
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

    def import_vetting(self, document: bytes) -> principal_ops.VettingInfo:
        return principal_ops.import_vetting(self._ctx, document)

    def whoami(self) -> principal_ops.WhoAmI:
        return principal_ops.whoami(self._ctx)

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
