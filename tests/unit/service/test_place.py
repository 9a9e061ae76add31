"""The place step of the request core chooses the site of every new version."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import select

from forgekeep.db.models import Project, Replica, Site
from forgekeep.service import core as _core
from forgekeep.service.assets import writing as assets
from forgekeep.service.context import ServiceContext, SiteHandle
from forgekeep.service.core import place
from forgekeep.service.vault import Vault
from forgekeep.storage.file import FileBlobStore
from forgekeep.testing.internals import context_of


def _project(ctx: ServiceContext, name: str) -> Project:
    with ctx.sessions() as session:
        row = session.scalar(select(Project).where(Project.name == name))
        assert row is not None
        return row


def test_place_returns_the_first_configured_site(vault: Vault) -> None:
    vault.assets.put(io.BytesIO(b"x"), project="blade", name="a.step")
    ctx = context_of(vault)
    first = next(iter(ctx.sites.values()))
    assert place(ctx, _project(ctx, "blade")) is first


def test_put_stores_where_place_says(
    vault: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = context_of(vault)
    other = SiteHandle("other-de", "DE", FileBlobStore(tmp_path / "other"))
    ctx.sites = {**ctx.sites, other.name: other}
    with ctx.sessions() as session:
        session.add(
            Site(
                name=other.name,
                tenant_id=ctx.tenant_id,
                jurisdiction="DE",
                operator="self",
                store_uri=f"file:{tmp_path / 'other'}",
                created_at=ctx.clock.now(),
            )
        )
        session.commit()
    asked: list[str] = []

    def choose(context: ServiceContext, project: Project) -> SiteHandle:
        asked.append(project.name)
        assert context is ctx
        return other

    monkeypatch.setattr(assets, "place", choose)
    put = vault.assets.put(io.BytesIO(b"placed"), project="blade", name="b.step")
    assert asked == ["blade"]
    with ctx.sessions() as session:
        replica = session.scalar(select(Replica).where(Replica.version_id == put.version_id))
        assert replica is not None
        assert replica.site_name == "other-de"
    assert other.store.stat(replica.blob_key).size > len(b"placed")
    sink = io.BytesIO()
    vault.assets.get("b.step", sink)
    assert sink.getvalue() == b"placed"
    assert _core.place is place  # the request core's own step is unchanged
