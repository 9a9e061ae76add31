"""The Access issue's acceptance scenario, decided by the baseline Cedar policies.

A part tagged ITAR USML Cat. XI is owned by organisation A. Licence L-123 lets
partner organisation B read it for the purpose ``tooling`` in Germany until a
given date. Each row of the table is one test; each decision names its policies.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import pytest

from forgekeep.clock import ManualClock
from forgekeep.policy import Decision, PolicyEngine, Request, baseline_text
from forgekeep.policy.entities import (
    Asset,
    ExportAuth,
    Licence,
    Machine,
    Organisation,
    Person,
    Project,
    RequestContext,
    uid,
)

START = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
LICENCE_END = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
VETTED_UNTIL = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
PART = Asset("a-blade", owner="org-a", project="pr-turbine", itar=True, usml_category="XI")
L123 = Licence(
    "L-123",
    licensee="org-b",
    assets=frozenset({PART.id}),
    actions=frozenset({"read"}),
    territory=frozenset({"DE"}),
    purpose="tooling",
    valid_from=START - dt.timedelta(days=30),
    valid_until=LICENCE_END,
)
TAA_DE = ExportAuth(
    "TAA-7",
    holder="org-b",
    kind="ITAR-TAA",
    assets=frozenset({PART.id}),
    destinations=frozenset({"DE"}),
    valid_until=LICENCE_END,
)
TAA_DE_126_18 = ExportAuth(
    "TAA-8",
    holder="org-b",
    kind="ITAR-TAA",
    assets=frozenset({PART.id}),
    destinations=frozenset({"DE"}),
    valid_until=LICENCE_END,
    covers_126_18=True,
)


def _person(pid: str, org: str, citizenships: Iterable[str], *, us: bool = False) -> Person:
    return Person(
        pid,
        org=org,
        citizenships=frozenset(citizenships),
        us_person=us,
        location="DE",
        clearance=2,
        vetting_expires=VETTED_UNTIL,
        roles=frozenset({"reader"}),
    )


US_IN_A = _person("p-us-a", "org-a", {"US"}, us=True)
US_IN_B = _person("p-us-b", "org-b", {"US"}, us=True)
DE_IN_B = _person("p-de-b", "org-b", {"DE"})
DUAL_IN_B = _person("p-dual-b", "org-b", {"DE", "CN"})
SERVICE_B = Machine("m-b-etl", org="org-b", roles=frozenset({"service"}), clearance=2)

ENTITIES: list[Any] = [
    Organisation("org-a"),
    Organisation("org-b"),
    Project("pr-turbine", owner="org-a"),
    PART,
    L123,
    TAA_DE,
    TAA_DE_126_18,
    US_IN_A,
    US_IN_B,
    DE_IN_B,
    DUAL_IN_B,
    SERVICE_B,
]


@pytest.fixture(scope="module")
def engine() -> PolicyEngine:
    return PolicyEngine(baseline_text())


@pytest.fixture(scope="module")
def entities(engine: PolicyEngine) -> Any:
    return engine.entities([e.to_cedar() for e in ENTITIES])


def _decide(
    engine: PolicyEngine,
    entities: Any,
    who: Person | Machine,
    context: RequestContext,
    action: str = "read",
) -> Decision:
    kind = "Person" if isinstance(who, Person) else "Machine"
    request = Request(uid(kind, who.id), action, uid("Asset", PART.id), context.to_cedar())
    return engine.decide(request, entities)


def _ctx(
    clock: ManualClock,
    source: str = "DE",
    purpose: str = "tooling",
    *,
    licence: str | None = None,
    export_auth: str | None = None,
) -> RequestContext:
    return RequestContext(clock.now(), source, purpose, "mfa", licence, export_auth)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def test_a_us_person_in_the_owner_organisation_is_allowed(
    engine: PolicyEngine, entities: Any, clock: ManualClock
) -> None:
    decision = _decide(engine, entities, US_IN_A, _ctx(clock, "US"))
    assert decision.allowed
    assert decision.policies == ("baseline/owner-read",)


def test_a_us_person_in_b_without_the_licence_is_denied(
    engine: PolicyEngine, entities: Any, clock: ManualClock
) -> None:
    decision = _decide(engine, entities, US_IN_B, _ctx(clock, "US"))
    assert not decision.allowed
    assert decision.reasons == ("default-deny",)


def test_a_german_national_with_the_licence_but_no_export_authorisation_is_denied(
    engine: PolicyEngine, entities: Any, clock: ManualClock
) -> None:
    decision = _decide(engine, entities, DE_IN_B, _ctx(clock, licence="L-123"))
    assert not decision.allowed
    assert "export-authorisation-missing" in decision.reasons
    assert "guard/itar-export-authorisation" in decision.policies


def test_the_same_person_with_a_taa_covering_germany_is_allowed(
    engine: PolicyEngine, entities: Any, clock: ManualClock
) -> None:
    decision = _decide(engine, entities, DE_IN_B, _ctx(clock, licence="L-123", export_auth="TAA-7"))
    assert decision.allowed, decision
    assert decision.policies == ("baseline/licence-read",)


def test_the_same_person_after_her_vetting_expires_is_denied(
    engine: PolicyEngine, entities: Any, clock: ManualClock
) -> None:
    clock.advance(VETTED_UNTIL - START + dt.timedelta(seconds=1))
    decision = _decide(engine, entities, DE_IN_B, _ctx(clock, licence="L-123", export_auth="TAA-7"))
    assert not decision.allowed
    assert decision.reasons == ("vetting-missing-or-expired",)


def test_the_same_person_outside_the_licence_territory_is_denied(
    engine: PolicyEngine, entities: Any, clock: ManualClock
) -> None:
    decision = _decide(
        engine, entities, DE_IN_B, _ctx(clock, "FR", licence="L-123", export_auth="TAA-7")
    )
    assert not decision.allowed
    assert "licence-does-not-apply" in decision.reasons


def test_a_dual_national_outside_the_taa_is_denied_unless_126_18_covers_it(
    engine: PolicyEngine, entities: Any, clock: ManualClock
) -> None:
    denied = _decide(engine, entities, DUAL_IN_B, _ctx(clock, licence="L-123", export_auth="TAA-7"))
    assert not denied.allowed
    assert denied.reasons == ("citizenship-outside-export-authorisation",)
    covered = _decide(
        engine, entities, DUAL_IN_B, _ctx(clock, licence="L-123", export_auth="TAA-8")
    )
    assert covered.allowed, covered


def test_a_service_account_outside_the_licence_purpose_is_denied(
    engine: PolicyEngine, entities: Any, clock: ManualClock
) -> None:
    decision = _decide(
        engine,
        entities,
        SERVICE_B,
        _ctx(clock, purpose="marketing", licence="L-123", export_auth="TAA-7"),
    )
    assert not decision.allowed
    assert "licence-does-not-apply" in decision.reasons


def test_anyone_after_the_licence_end_date_is_denied(
    engine: PolicyEngine, entities: Any, clock: ManualClock
) -> None:
    clock.advance(LICENCE_END - START)
    vetted_longer = Person(
        DE_IN_B.id + "-2",
        org="org-b",
        citizenships=frozenset({"DE"}),
        us_person=False,
        location="DE",
        vetting_expires=LICENCE_END + dt.timedelta(days=365),
    )
    fresh = engine.entities([e.to_cedar() for e in [*ENTITIES, vetted_longer]])
    for who in (vetted_longer, SERVICE_B):
        decision = _decide(engine, fresh, who, _ctx(clock, licence="L-123", export_auth="TAA-7"))
        assert not decision.allowed
        assert "licence-does-not-apply" in decision.reasons


def test_a_licence_for_another_action_does_not_permit(
    engine: PolicyEngine, entities: Any, clock: ManualClock
) -> None:
    decision = _decide(
        engine,
        entities,
        DE_IN_B,
        _ctx(clock, licence="L-123", export_auth="TAA-7"),
        action="manufacture",
    )
    assert not decision.allowed
    assert decision.reasons == ("default-deny",)
