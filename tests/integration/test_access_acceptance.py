"""The Access issue's acceptance scenario, end to end through the service.

A part tagged ITAR USML Cat. XI is owned by the workspace's own organisation.
Licence L-123 lets partner organisation B read and download it for the purpose
``tooling`` in Germany until a given date. Every row of the issue's table is a
real ``get`` (or a refusal of one) by a real principal, decided by Cedar over
entities built from the database, and journaled with its reasons and policies.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from forgekeep.clock import ManualClock
from forgekeep.db.models import Event
from forgekeep.errors import AccessDeniedError
from forgekeep.service.access.sealed_reasons import GENERIC_REASON, SEALED_POLICY, open_fields
from forgekeep.service.vault import Vault
from forgekeep.service.wiring import open_vault
from forgekeep.service.workspace.create import InitResult
from forgekeep.testing.internals import context_of
from forgekeep.testing.vetting import ISSUER

PART = "blade.step"


@dataclasses.dataclass
class World:
    home: Path
    admin: Vault
    clock: ManualClock
    passphrase: bytes
    people: dict[str, str]
    licence_end: dt.datetime


def _person(vault: Vault, org: str, name: str, citizenships: list[str], location: str) -> str:
    return vault.principals.add_person(
        org=org, display_name=name, citizenships=citizenships, location=location, roles=["reader"]
    ).id


@pytest.fixture
def world(workspace: InitResult, clock: ManualClock, passphrase: bytes) -> Iterator[World]:
    with open_vault(workspace.home, passphrase=passphrase, clock=clock) as admin:
        yield _populate(workspace, admin, clock, passphrase)


def _populate(workspace: InitResult, admin: Vault, clock: ManualClock, passphrase: bytes) -> World:
    admin.projects.create("turbine", residency="DE")
    admin.assets.put(io.BytesIO(b"ISO-10303-21; blade"), project="turbine", name=PART)
    admin.assets.classify(PART, export="ITAR:XI")
    admin.principals.add_organisation("partner-b", jurisdiction="DE")
    people = {
        "us_in_a": _person(admin, "home", "Uma US", ["US"], "US"),
        "us_in_b": _person(admin, "partner-b", "Ulf US", ["US"], "US"),
        "de_in_b": _person(admin, "partner-b", "Greta German", ["DE"], "DE"),
        "de_in_b_fr": _person(admin, "partner-b", "Franz Abroad", ["DE"], "FR"),
        "dual_in_b": _person(admin, "partner-b", "Dana Dual", ["DE", "CN"], "DE"),
    }
    people["service_b"] = admin.principals.add_machine(
        org="partner-b", roles=["reader"], fingerprints=["cd" * 32]
    ).id
    for pid in people.values():
        ISSUER.vet(admin, pid, clock, clearance=2)
    return World(
        workspace.home, admin, clock, passphrase, people, clock.now() + dt.timedelta(days=180)
    )


def _grant_l123(world: World) -> None:
    world.admin.licences.grant(
        licence_id="L-123",
        licensee="partner-b",
        assets=[f"turbine/{PART}"],
        projects=[],
        actions=["read", "download"],
        territory="DE",
        purpose="tooling",
        valid_from=world.clock.now() - dt.timedelta(days=1),
        valid_until=world.licence_end,
    )


def _add_taa(world: World, *, covers_126_18: bool = False, auth_id: str = "TAA-7") -> None:
    world.admin.export_auths.add(
        auth_id=auth_id,
        holder="partner-b",
        kind="ITAR-TAA",
        reference=f"{auth_id}-2026",
        assets=[f"turbine/{PART}"],
        projects=[],
        destinations="DE",
        valid_until=world.licence_end,
        covers_126_18=covers_126_18,
    )


def _get(world: World, who: str, purpose: str = "tooling") -> tuple[bool, str, tuple[str, ...]]:
    """(allowed, request id, reasons) of one real read by ``who``."""
    principal = world.people[who]
    with open_vault(
        world.home, passphrase=world.passphrase, principal=principal, clock=world.clock
    ) as vault:
        try:
            result = vault.assets.get(PART, io.BytesIO(), purpose=purpose)
        except AccessDeniedError as exc:
            return False, exc.request_id or "", exc.reasons
        return True, result.request_id, ()


def _journaled(world: World, request_id: str) -> dict[str, str]:
    with context_of(world.admin).sessions() as session:
        row = session.scalars(
            select(Event).where(Event.request_id == request_id).order_by(Event.seq)
        ).first()
        assert row is not None, "every decision is journaled"
        detail = json.loads(row.detail)
        if "sealed" in detail:  # reasons that reveal attributes: open them with the key
            assert (detail["reasons"], detail["policy"]) == (GENERIC_REASON, SEALED_POLICY)
            ctx = context_of(world.admin)
            opened = open_fields(session, ctx.key_manager, ctx.tenant_id, detail, request_id)
            assert opened is not None
            detail |= opened
    assert detail["policy"], "every decision names its policies"
    return {"outcome": row.outcome, **detail}


def test_a_us_person_in_the_owner_organisation_is_allowed(world: World) -> None:
    allowed, rid, _ = _get(world, "us_in_a")
    assert allowed
    assert "baseline/owner-read" in _journaled(world, rid)["policy"]


def test_a_us_person_in_b_without_the_licence_is_denied(world: World) -> None:
    allowed, rid, reasons = _get(world, "us_in_b")
    assert not allowed
    assert reasons == ("default-deny",)
    assert _journaled(world, rid)["outcome"] == "denied"


def test_a_german_in_b_needs_the_export_authorisation_too(world: World) -> None:
    _grant_l123(world)
    allowed, rid, reasons = _get(world, "de_in_b")
    assert not allowed
    assert "export-authorisation-missing" in reasons
    assert "guard/itar-export-authorisation" in _journaled(world, rid)["policy"]

    _add_taa(world)
    allowed, rid, _ = _get(world, "de_in_b")
    assert allowed
    event = _journaled(world, rid)
    assert (event["licence"], event["export_auth"]) == ("L-123", "TAA-7")
    assert "baseline/licence-download" in event["policy"]


def test_expired_vetting_is_denied(world: World) -> None:
    _grant_l123(world)
    _add_taa(world)
    assert _get(world, "de_in_b")[0]
    world.clock.advance(dt.timedelta(days=366))  # past the one-year vetting record
    allowed, rid, reasons = _get(world, "de_in_b")
    assert not allowed
    assert "vetting-missing-or-expired" in reasons
    assert "vetting-missing-or-expired" in _journaled(world, rid)["reasons"]


def test_a_request_from_outside_the_licence_territory_is_denied(world: World) -> None:
    _grant_l123(world)
    _add_taa(world)
    allowed, _, reasons = _get(world, "de_in_b_fr")
    assert not allowed
    assert "licence-does-not-apply" in reasons


def test_a_dual_national_outside_the_taa_is_denied_unless_126_18_covers_it(world: World) -> None:
    _grant_l123(world)
    _add_taa(world)
    allowed, _, reasons = _get(world, "dual_in_b")
    assert not allowed
    assert "citizenship-outside-export-authorisation" in reasons
    world.admin.export_auths.revoke("TAA-7")
    _add_taa(world, covers_126_18=True, auth_id="TAA-8")
    assert _get(world, "dual_in_b")[0]


def test_a_service_account_outside_the_licence_purpose_is_denied(world: World) -> None:
    _grant_l123(world)
    _add_taa(world)
    assert _get(world, "service_b", purpose="tooling")[0]
    allowed, _, reasons = _get(world, "service_b", purpose="marketing")
    assert not allowed
    assert "licence-does-not-apply" in reasons or "default-deny" in reasons


def test_everyone_licensed_is_denied_after_the_licence_ends(world: World) -> None:
    _grant_l123(world)
    _add_taa(world)
    assert _get(world, "de_in_b")[0]
    world.clock.advance(world.licence_end - world.clock.now() + dt.timedelta(seconds=1))
    for who in ("de_in_b", "service_b"):
        assert not _get(world, who)[0]
    assert _get(world, "us_in_a")[0], "the owner's own people are not licensees"


def test_a_partner_lists_only_what_it_is_licensed_for(world: World) -> None:
    world.admin.assets.put(io.BytesIO(b"secret recipe"), project="turbine", name="recipe.txt")
    _grant_l123(world)
    _add_taa(world)
    principal = world.people["de_in_b"]
    with open_vault(
        world.home, passphrase=world.passphrase, principal=principal, clock=world.clock
    ) as vault:
        names = [a.name for a in vault.assets.ls()]
        before = len(_events(vault))
        vault.assets.ls()
        assert len(_events(vault)) == before + 1, "one event per listing, not one per item"
    assert names == [PART]
    # The owner's German admin holds no export authorisation: ITAR data stays hidden.
    assert {a.name for a in world.admin.assets.ls()} == {"recipe.txt"}


def _events(vault: Vault) -> list[Event]:
    with context_of(vault).sessions() as session:
        return list(session.scalars(select(Event)).all())
