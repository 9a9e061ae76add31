"""Licences and export authorisations: grants, refusals (journaled), revocation, candidates."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from forgekeep.clock import ManualClock
from forgekeep.db.access import ExportAuthorisation, Licence
from forgekeep.db.models import Event
from forgekeep.db.repos import grants as grant_repo
from forgekeep.errors import (
    ConflictError,
    ForgekeepError,
    LimitExceededError,
    NotFoundError,
    UsageError,
)
from forgekeep.limits import MAX_LICENCE_SCOPE_ITEMS
from forgekeep.service.access import export_auths as ea
from forgekeep.service.access import licences as lic
from forgekeep.service.vault import Vault
from forgekeep.testing.internals import context_of

DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Setup:
    vault: Vault
    clock: ManualClock
    asset: str  # id of blade/part.step
    other_asset: str  # id of blade/jig.step
    project: str  # id of project blade
    acme: str
    globex: str


@pytest.fixture
def setup(vault: Vault, clock: ManualClock, tmp_path: Path) -> Setup:
    ids = []
    for name in ("part.step", "jig.step"):
        source = tmp_path / name
        source.write_bytes(b"solid " + name.encode())
        ids.append(vault.assets.put(source, project="blade").asset_id)
    acme = vault.principals.add_organisation("acme", jurisdiction="DE").id
    globex = vault.principals.add_organisation("globex", jurisdiction="FR").id
    project = vault.projects.show("blade").id
    return Setup(vault, clock, ids[0], ids[1], project, acme, globex)


def _grant(s: Setup, **changes: Any) -> lic.LicenceInfo:
    now = s.clock.now()
    args: dict[str, Any] = {
        "licensee": "acme",
        "assets": ["blade/part.step"],
        "projects": [],
        "actions": ["read", "download"],
        "territory": "eea+ch",
        "purpose": "tooling",
        "valid_from": now,
        "valid_until": now + 30 * DAY,
    }
    args.update(changes)
    return s.vault.licences.grant(**args)


def _export(s: Setup, **changes: Any) -> ea.ExportAuthInfo:
    args: dict[str, Any] = {
        "holder": "acme",
        "kind": "ITAR-TAA",
        "reference": "TAA-2026-0042",
        "assets": ["blade/part.step"],
        "projects": [],
        "destinations": "GB+CA",
        "valid_until": s.clock.now() + 90 * DAY,
    }
    args.update(changes)
    return s.vault.export_auths.add(**args)


def _events(vault: Vault) -> list[Event]:
    with context_of(vault).sessions() as session:
        return list(session.scalars(select(Event).order_by(Event.seq)).all())


def _count(vault: Vault, model: type[Licence | ExportAuthorisation]) -> int:
    with context_of(vault).sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


# -- licences -----------------------------------------------------------------


def test_grant_stores_ids_and_canonical_rule(setup: Setup) -> None:
    info = _grant(setup, actions=["download", "read", "read"])
    assert re.fullmatch(r"L-[0-9a-f]{16}", info.id)
    assert info.licensee_org_id == setup.acme
    assert info.assets == (setup.asset,)
    assert info.projects == ()
    assert info.actions == ("download", "read")
    assert info.territory == "EEA+CH"
    assert info.status == "active"
    assert info.granted_by == setup.vault.principal_id
    assert info.revoked_at is None
    with context_of(setup.vault).sessions() as session:
        row = session.get(Licence, info.id)
        assert row is not None
        assert row.assets == [setup.asset]
        assert row.tenant_id == setup.vault.tenant_id


def test_grant_journals_ids_not_names(setup: Setup) -> None:
    info = _grant(setup, licence_id="L-123", projects=["blade"])
    assert info.id == "L-123"
    assert info.projects == (setup.project,)
    last = _events(setup.vault)[-1]
    assert (last.action, last.outcome, last.target) == ("licence.grant", "ok", "L-123")
    detail = json.loads(last.detail)
    assert detail["licensee_org_id"] == setup.acme
    assert detail["assets"] == setup.asset
    assert detail["projects"] == setup.project
    assert detail["actions"] == "download,read"
    assert detail["territory"] == "EEA+CH"
    assert detail["purpose"] == "tooling"
    assert detail["valid_until"] == info.valid_until.isoformat()
    assert "part.step" not in last.detail
    assert all("Ada" not in e.detail for e in _events(setup.vault))


def test_grant_by_asset_id_and_generated_ids_are_unique(setup: Setup) -> None:
    first = _grant(setup, assets=[setup.asset])
    second = _grant(setup, assets=[setup.asset])
    assert first.assets == second.assets == (setup.asset,)
    assert first.id != second.id


def _past(s: Setup) -> dict[str, Any]:
    now = s.clock.now()
    return {"valid_from": now - 10 * DAY, "valid_until": now - DAY}


REFUSALS: list[tuple[str, Any, type[ForgekeepError]]] = [
    ("no actions", {"actions": []}, UsageError),
    ("unknown action", {"actions": ["read", "fly"]}, UsageError),
    ("no scope", {"assets": [], "projects": []}, UsageError),
    ("unknown asset", {"assets": ["blade/nope.step"]}, NotFoundError),
    ("unknown asset project", {"assets": ["nope/part.step"]}, NotFoundError),
    ("unknown asset id", {"assets": ["a-000"]}, NotFoundError),
    ("unknown project", {"projects": ["nope"]}, NotFoundError),
    ("unknown org", {"licensee": "nobody"}, NotFoundError),
    ("bad territory", {"territory": "XX"}, UsageError),
    ("empty territory", {"territory": "DE-DE"}, UsageError),
    ("malformed territory", {"territory": "DE; rm"}, UsageError),
    ("long territory", {"territory": "DE+" * 100 + "FR"}, LimitExceededError),
    ("bad purpose", {"purpose": "two words"}, UsageError),
    ("bad id", {"licence_id": "L 1!"}, UsageError),
    (
        "too many assets",
        {"assets": ["blade/x"] * (MAX_LICENCE_SCOPE_ITEMS + 1)},
        LimitExceededError,
    ),
    ("one string", {"assets": "blade/part.step"}, UsageError),
]


@pytest.mark.parametrize(
    ("changes", "error"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_grant_refusals_are_journaled(
    setup: Setup, changes: dict[str, Any], error: type[ForgekeepError]
) -> None:
    with pytest.raises(error) as caught:
        _grant(setup, **changes)
    assert type(caught.value) is error
    assert caught.value.request_id is not None
    last = _events(setup.vault)[-1]
    assert (last.action, last.outcome) == ("licence.grant", "error")
    assert last.request_id == caught.value.request_id
    assert json.loads(last.detail)["code"] == error.code
    assert _count(setup.vault, Licence) == 0


def test_grant_refuses_bad_windows(setup: Setup) -> None:
    now = setup.clock.now()
    with pytest.raises(UsageError, match="after its start"):
        _grant(setup, valid_from=now + DAY, valid_until=now + DAY)
    with pytest.raises(UsageError, match="after its start"):
        _grant(setup, valid_from=now + 2 * DAY, valid_until=now + DAY)
    with pytest.raises(UsageError, match="ended"):
        _grant(setup, **_past(setup))
    with pytest.raises(UsageError, match="timezone"):
        _grant(setup, valid_from=now.replace(tzinfo=None))
    assert [e.outcome for e in _events(setup.vault)[-4:]] == ["error"] * 4
    assert _count(setup.vault, Licence) == 0


def test_grant_refuses_a_deleted_asset(setup: Setup) -> None:
    setup.vault.assets.rm("part.step", project="blade")
    with pytest.raises(NotFoundError):
        _grant(setup)
    with pytest.raises(NotFoundError):
        _grant(setup, assets=[setup.asset])


def test_duplicate_id_is_a_conflict(setup: Setup) -> None:
    _grant(setup, licence_id="L-7")
    with pytest.raises(ConflictError):
        _grant(setup, licence_id="L-7")
    assert _count(setup.vault, Licence) == 1


def test_status_follows_the_window(setup: Setup) -> None:
    now = setup.clock.now()
    info = _grant(setup, valid_from=now + DAY, valid_until=now + 3 * DAY)
    assert info.status == "pending"
    setup.clock.advance(2 * DAY)
    assert setup.vault.licences.show(info.id).status == "active"
    setup.clock.advance(2 * DAY)
    assert setup.vault.licences.show(info.id).status == "expired"


def test_revoke_stamps_and_hides(setup: Setup) -> None:
    kept = _grant(setup, licence_id="L-1")
    gone = _grant(setup, licence_id="L-2")
    setup.clock.advance(dt.timedelta(hours=1))
    revoked = setup.vault.licences.revoke(gone.id)
    assert revoked.status == "revoked"
    assert revoked.revoked_at == setup.clock.now()
    assert revoked.revoked_by == setup.vault.principal_id
    assert [i.id for i in setup.vault.licences.ls()] == [kept.id]
    assert [i.id for i in setup.vault.licences.ls(include_revoked=True)] == ["L-1", "L-2"]
    assert setup.vault.licences.show("L-2").status == "revoked"
    event = _events(setup.vault)[-4]
    assert (event.action, event.outcome, event.target) == ("licence.revoke", "ok", "L-2")
    with pytest.raises(ConflictError):
        setup.vault.licences.revoke(gone.id)
    assert _events(setup.vault)[-1].outcome == "error"
    assert _count(setup.vault, Licence) == 2  # never deleted


def test_unknown_licence(setup: Setup) -> None:
    with pytest.raises(NotFoundError):
        setup.vault.licences.show("L-404")
    with pytest.raises(NotFoundError):
        setup.vault.licences.revoke("L-404")
    assert [e.outcome for e in _events(setup.vault)[-2:]] == ["error", "error"]


def test_territory_codes() -> None:
    codes = lic.territory_codes("EEA+CH")
    assert {"DE", "NO", "CH"} <= codes
    assert "US" not in codes
    assert lic.territory_codes("EU-HU") == lic.territory_codes("EU") - {"HU"}
    with pytest.raises(UsageError):
        lic.territory_codes("ZZ")


# -- candidates ---------------------------------------------------------------


def _licence_ids(s: Setup, org: str, asset: str) -> list[str]:
    with context_of(s.vault).sessions() as session:
        rows = grant_repo.licence_candidates(
            session, s.vault.tenant_id, org, asset, s.project, s.clock.now()
        )
        return [r.id for r in rows]


def test_licence_candidates(setup: Setup) -> None:
    now = setup.clock.now()
    _grant(setup, licence_id="L-direct")
    _grant(setup, licence_id="L-project", assets=[], projects=["blade"])
    _grant(setup, licence_id="L-globex", licensee="globex")
    _grant(setup, licence_id="L-revoked")
    setup.vault.licences.revoke("L-revoked")
    _grant(setup, licence_id="L-later", valid_from=now + 5 * DAY, valid_until=now + 60 * DAY)
    _grant(setup, licence_id="L-short", valid_until=now + DAY)

    assert _licence_ids(setup, setup.acme, setup.asset) == ["L-direct", "L-project", "L-short"]
    assert _licence_ids(setup, setup.acme, setup.other_asset) == ["L-project"]
    assert _licence_ids(setup, setup.globex, setup.asset) == ["L-globex"]
    setup.clock.advance(6 * DAY)
    assert _licence_ids(setup, setup.acme, setup.asset) == ["L-direct", "L-later", "L-project"]
    with context_of(setup.vault).sessions() as session:
        other_tenant = grant_repo.licence_candidates(
            session, "t-other", setup.acme, setup.asset, setup.project, setup.clock.now()
        )
    assert other_tenant == []


def test_licence_candidates_are_bounded(setup: Setup) -> None:
    for n in range(grant_repo.MAX_CANDIDATES + 1):
        _grant(setup, licence_id=f"L-{n:02d}")
    ids = _licence_ids(setup, setup.acme, setup.asset)
    assert ids == [f"L-{n:02d}" for n in range(grant_repo.MAX_CANDIDATES)]


# -- export authorisations ----------------------------------------------------


def test_add_export_auth(setup: Setup) -> None:
    info = _export(setup, covers_126_18=True, projects=["blade"], destinations="gb+ca")
    assert re.fullmatch(r"EA-[0-9a-f]{16}", info.id)
    assert info.holder_org_id == setup.acme
    assert (info.kind, info.reference, info.destinations) == ("ITAR-TAA", "TAA-2026-0042", "GB+CA")
    assert info.covers_126_18 is True
    assert (info.assets, info.projects) == ((setup.asset,), (setup.project,))
    assert info.status == "active"
    last = _events(setup.vault)[-1]
    assert (last.action, last.outcome, last.target) == ("export-auth.add", "ok", info.id)
    detail = json.loads(last.detail)
    assert detail["holder_org_id"] == setup.acme
    assert detail["kind"] == "ITAR-TAA"
    assert detail["covers_126_18"] is True
    assert detail["destinations"] == "GB+CA"
    ear = _export(setup, kind="EAR-exception", reference="LVS", auth_id="X-1")
    assert (ear.id, ear.covers_126_18) == ("X-1", False)


EXPORT_REFUSALS: list[tuple[str, Any, type[ForgekeepError]]] = [
    ("unknown kind", {"kind": "ITAR"}, UsageError),
    ("126.18 on EAR", {"kind": "EAR-licence", "covers_126_18": True}, UsageError),
    ("empty reference", {"reference": ""}, UsageError),
    ("control in reference", {"reference": "TAA\n1"}, UsageError),
    ("outer space in reference", {"reference": " TAA-1"}, UsageError),
    ("long reference", {"reference": "R" * 129}, UsageError),
    ("bad destinations", {"destinations": "Mars"}, UsageError),
    ("unknown holder", {"holder": "nobody"}, NotFoundError),
    ("no scope", {"assets": [], "projects": []}, UsageError),
    ("too many projects", {"projects": ["p"] * (MAX_LICENCE_SCOPE_ITEMS + 1)}, LimitExceededError),
    ("bad id", {"auth_id": "-x"}, UsageError),
]


@pytest.mark.parametrize(
    ("changes", "error"), [r[1:] for r in EXPORT_REFUSALS], ids=[r[0] for r in EXPORT_REFUSALS]
)
def test_export_refusals_are_journaled(
    setup: Setup, changes: dict[str, Any], error: type[ForgekeepError]
) -> None:
    with pytest.raises(error) as caught:
        _export(setup, **changes)
    assert type(caught.value) is error
    last = _events(setup.vault)[-1]
    assert (last.action, last.outcome) == ("export-auth.add", "error")
    assert json.loads(last.detail)["code"] == error.code
    assert _count(setup.vault, ExportAuthorisation) == 0


def test_export_refuses_past_or_naive_expiry(setup: Setup) -> None:
    now = setup.clock.now()
    with pytest.raises(UsageError, match="ended"):
        _export(setup, valid_until=now)
    with pytest.raises(UsageError, match="timezone"):
        _export(setup, valid_until=(now + DAY).replace(tzinfo=None))
    assert _count(setup.vault, ExportAuthorisation) == 0


def test_export_duplicate_revoke_and_list(setup: Setup) -> None:
    _export(setup, auth_id="TAA-1")
    with pytest.raises(ConflictError):
        _export(setup, auth_id="TAA-1")
    _export(setup, auth_id="TAA-2")
    revoked = setup.vault.export_auths.revoke("TAA-1")
    assert (revoked.status, revoked.revoked_by) == ("revoked", setup.vault.principal_id)
    with pytest.raises(ConflictError):
        setup.vault.export_auths.revoke("TAA-1")
    with pytest.raises(NotFoundError):
        setup.vault.export_auths.revoke("TAA-404")
    assert [i.id for i in setup.vault.export_auths.ls()] == ["TAA-2"]
    assert [i.id for i in setup.vault.export_auths.ls(include_revoked=True)] == ["TAA-1", "TAA-2"]


def _export_ids(s: Setup, org: str, asset: str) -> list[str]:
    with context_of(s.vault).sessions() as session:
        rows = grant_repo.export_auth_candidates(
            session, s.vault.tenant_id, org, asset, s.project, s.clock.now()
        )
        return [r.id for r in rows]


def test_export_auth_candidates(setup: Setup) -> None:
    now = setup.clock.now()
    _export(setup, auth_id="E-direct")
    _export(setup, auth_id="E-project", assets=[], projects=["blade"])
    _export(setup, auth_id="E-globex", holder="globex")
    _export(setup, auth_id="E-revoked")
    setup.vault.export_auths.revoke("E-revoked")
    _export(setup, auth_id="E-short", valid_until=now + DAY)

    assert _export_ids(setup, setup.acme, setup.asset) == ["E-direct", "E-project", "E-short"]
    assert _export_ids(setup, setup.acme, setup.other_asset) == ["E-project"]
    assert _export_ids(setup, setup.globex, setup.asset) == ["E-globex"]
    setup.clock.advance(2 * DAY)
    assert _export_ids(setup, setup.acme, setup.asset) == ["E-direct", "E-project"]
