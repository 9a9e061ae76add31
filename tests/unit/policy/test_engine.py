"""The engine fails closed: invalid entities, evaluation errors and empty sets deny."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from forgekeep.errors import ConfigError, InvalidNameError, UsageError
from forgekeep.policy import (
    DEFAULT_DENY,
    EVALUATION_ERROR,
    INVALID_ENTITIES,
    PolicyEngine,
    Request,
    baseline_text,
    validate_policies,
)
from forgekeep.policy.entities import Asset, Organisation, Person, Project, RequestContext, uid

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
OWNER = Person(
    "p-1",
    org="org-a",
    citizenships=frozenset({"DE"}),
    us_person=False,
    location="DE",
    clearance=2,
    vetting_expires=NOW + dt.timedelta(days=30),
    roles=frozenset({"reader"}),
)
PART = Asset("a-1", owner="org-a", project="pr-1")
BASE = [Organisation("org-a"), Project("pr-1", owner="org-a"), PART]


def _request(context: dict[str, Any] | None = None, principal: str = "p-1") -> Request:
    ctx = context if context is not None else RequestContext(NOW, "DE", "design", "mfa").to_cedar()
    return Request(uid("Person", principal), "read", uid("Asset", PART.id), ctx)


def test_owner_is_allowed_and_the_parse_happens_once() -> None:
    before = PolicyEngine.parse_count
    engine = PolicyEngine(baseline_text())
    entities = engine.entities([e.to_cedar() for e in [*BASE, OWNER]])
    decisions = [engine.decide(_request(), entities) for _ in range(50)]
    assert all(d.allowed for d in decisions)
    assert PolicyEngine.parse_count == before + 1


def test_entities_missing_a_required_attribute_are_refused_before_evaluation() -> None:
    engine = PolicyEngine(baseline_text())
    broken = OWNER.to_cedar()
    del broken["attrs"]["citizenships"]
    with pytest.raises(ValueError, match="conform"):
        engine.entities([e.to_cedar() for e in BASE] + [broken])
    decision = engine.decide(_request(), None)
    assert (decision.allowed, decision.reasons) == (False, (INVALID_ENTITIES,))


def test_a_person_without_a_vetting_record_is_denied_not_crashed() -> None:
    engine = PolicyEngine(baseline_text())
    unvetted = Person(
        "p-2",
        org="org-a",
        citizenships=frozenset({"DE"}),
        us_person=False,
        location="DE",
        clearance=2,
        roles=frozenset({"reader"}),
    )
    entities = engine.entities([e.to_cedar() for e in [*BASE, unvetted]])
    decision = engine.decide(_request(principal="p-2"), entities)
    assert not decision.allowed
    assert decision.reasons == ("vetting-missing-or-expired",)


def test_a_context_that_breaks_the_schema_is_a_deny() -> None:
    engine = PolicyEngine(baseline_text())
    entities = engine.entities([e.to_cedar() for e in [*BASE, OWNER]])
    decision = engine.decide(_request({"source_jurisdiction": "DE"}), entities)
    assert not decision.allowed
    assert decision.reasons in ((INVALID_ENTITIES,), (EVALUATION_ERROR,))


def test_an_evaluation_error_in_a_forbid_denies_instead_of_being_skipped() -> None:
    policies = """
    @id("permit-all") permit (principal, action, resource);
    @id("overflowing-guard") @reason("guard")
    forbid (principal, action, resource) when { context.now + 9223372036854775807 > 0 };
    """
    engine = PolicyEngine(policies)
    entities = engine.entities([e.to_cedar() for e in [*BASE, OWNER]])
    decision = engine.decide(_request(), entities)
    assert not decision.allowed
    assert decision.reasons == (EVALUATION_ERROR,)
    assert decision.errors


def test_an_empty_policy_set_denies_everything() -> None:
    engine = PolicyEngine("")
    entities = engine.entities([e.to_cedar() for e in [*BASE, OWNER]])
    decision = engine.decide(_request(), entities)
    assert (decision.allowed, decision.reasons) == (False, (DEFAULT_DENY,))


def test_policies_that_fail_validation_are_rejected_with_a_location() -> None:
    text = (
        "permit (principal, action, resource);\n// a comment; with a semicolon\n"
        '@id("x;y") forbid (principal, action, resource)\n  when { 1 + };'
    )
    problems = validate_policies(text, PolicyEngine("").schema)
    assert [(p.line, p.column) for p in problems] == [(3, 1)]
    assert str(problems[0]).startswith("3:1: (parse): ")
    typo = (
        'permit (principal, action, resource);\n@id("typo")\npermit (principal, action, '
        'resource) when { principal.nosuch == "x" };'
    )
    located = validate_policies(typo, PolicyEngine("").schema)
    assert {(p.policy, p.line) for p in located} == {("typo", 2)}
    with pytest.raises(ConfigError):
        PolicyEngine(typo)


def test_entity_ids_cannot_inject_cedar() -> None:
    with pytest.raises(InvalidNameError):
        uid("Person", 'p-1"::Admin')


def test_unparseable_policies_are_a_config_error_and_located() -> None:
    with pytest.raises(ConfigError):
        PolicyEngine("permit (")
    problems = validate_policies("permit (principal, action, resource)", PolicyEngine("").schema)
    assert [(p.line, p.column) for p in problems] == [(1, 1)]


def test_policy_ids_and_unknown_actions() -> None:
    engine = PolicyEngine(baseline_text())
    assert "guard/vetting-current" in engine.policy_ids()
    entities = engine.entities([e.to_cedar() for e in [*BASE, OWNER]])
    ctx = RequestContext(NOW, "DE", "design", "mfa").to_cedar()
    odd = Request(uid("Person", "p-1"), "teleport", uid("Asset", PART.id), ctx)
    decision = engine.decide(odd, entities)
    assert not decision.allowed
    malformed = Request("not an entity", "read", uid("Asset", PART.id), ctx)
    assert not engine.decide(malformed, entities).allowed
    unserialisable = Request(uid("Person", "p-1"), "read", uid("Asset", PART.id), {"now": {1}})
    assert engine.decide(unserialisable, entities).reasons == (INVALID_ENTITIES,)


def test_export_classified_assets_carry_their_classification() -> None:
    ear = Asset("a-ear", owner="org-a", project="pr-1", ear_eccn="9E003")
    assert ear.to_cedar()["attrs"]["ear_eccn"] == "9E003"
    engine = PolicyEngine(baseline_text())
    assert engine.entities([e.to_cedar() for e in [*BASE, ear]]) is not None


def test_a_sliced_decision_matches_the_full_one() -> None:
    engine = PolicyEngine(baseline_text())
    entities = engine.entities([e.to_cedar() for e in [*BASE, OWNER]])
    full = engine.decide(_request(), entities)
    sliced = engine.decide(_request(), entities, resource_ancestors=[uid("Project", "pr-1")])
    again = engine.decide(_request(), entities, resource_ancestors=[uid("Project", "pr-1")])
    assert full == sliced == again
    assert full.allowed


def test_hostile_inputs_deny_or_are_refused() -> None:
    engine = PolicyEngine(baseline_text())
    entities = engine.entities([e.to_cedar() for e in [*BASE, OWNER]])
    deep: dict[str, Any] = {}
    for _ in range(5000):
        deep = {"x": deep}
    ctx = RequestContext(NOW, "DE", "design", "mfa").to_cedar() | {"deep": deep}
    assert not engine.decide(_request(ctx), entities).allowed
    with pytest.raises(UsageError):
        RequestContext(NOW, "DE", "design", "mfa", extra={"now": 0}).to_cedar()
    with pytest.raises(UsageError):
        Person("p-9", org="org-a", citizenships=frozenset(), us_person=False, location="DE")


def test_itar_with_no_citizenship_on_record_is_denied() -> None:
    engine = PolicyEngine(baseline_text())
    itar = Asset("a-itar", owner="org-a", project="pr-1", itar=True)
    nobody = OWNER.to_cedar()
    nobody["attrs"]["citizenships"] = []
    entities = engine.entities([e.to_cedar() for e in [*BASE, itar]] + [nobody])
    ctx = RequestContext(NOW, "DE", "design", "mfa").to_cedar()
    request = Request(uid("Person", "p-1"), "read", uid("Asset", "a-itar"), ctx)
    assert not engine.decide(request, entities).allowed
