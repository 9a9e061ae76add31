"""Decision test cases: the case file is parsed strictly and each case is decided by the engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from forgekeep.errors import FormatError, LimitExceededError
from forgekeep.limits import MAX_CASE_FILE_BYTES
from forgekeep.policy import PolicyEngine, baseline_text
from forgekeep.policy.testing import load_cases, run_cases

EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "examples" / "policy-cases.json"
NOW = 1_780_304_400  # 2026-06-01T09:00:00Z


def _entity(
    kind: str, eid: str, attrs: dict[str, Any], parents: list[Any] | None = None
) -> dict[str, Any]:
    uid = {"type": f"Forgekeep::{kind}", "id": eid}
    return {"uid": uid, "attrs": attrs, "parents": parents or []}


ORG = {"type": "Forgekeep::Organisation", "id": "org-a"}
ENTITIES = [
    _entity("Organisation", "org-a", {}),
    _entity("Project", "pr-1", {"owner": {"__entity": ORG}}),
    _entity(
        "Asset",
        "a-1",
        {"owner": {"__entity": ORG}, "classification": 1, "itar": False},
        [{"type": "Forgekeep::Project", "id": "pr-1"}],
    ),
    _entity(
        "Person",
        "p-1",
        {
            "org": {"__entity": ORG},
            "citizenships": ["DE"],
            "us_person": False,
            "location": "DE",
            "clearance": 1,
            "vetting_expires": NOW + 3600,
            "trainings": [],
            "roles": ["reader"],
            "status": "active",
        },
        [ORG],
    ),
]
CONTEXT = {"now": NOW, "source_jurisdiction": "DE", "purpose": "design", "auth_strength": "mfa"}


def _case(**overrides: Any) -> dict[str, Any]:
    case: dict[str, Any] = {
        "name": "owner reads",
        "principal": "Person::p-1",
        "action": "read",
        "resource": "Asset::a-1",
        "context": dict(CONTEXT),
        "expect": "allow",
    }
    case.update(overrides)
    return {k: v for k, v in case.items() if v is not None}


def _doc(*cases: dict[str, Any], **top: Any) -> bytes:
    body: dict[str, Any] = {"entities": ENTITIES, "cases": list(cases) or [_case()]}
    body.update(top)
    return json.dumps(body).encode()


@pytest.fixture(scope="module")
def engine() -> PolicyEngine:
    return PolicyEngine(baseline_text())


def test_short_forms_get_the_namespace() -> None:
    (case,) = load_cases(_doc()).cases
    assert case.principal == 'Forgekeep::Person::"p-1"'
    assert case.resource == 'Forgekeep::Asset::"a-1"'
    assert case.reasons is None
    assert case.policies is None


def test_a_passing_allow_and_a_passing_deny(engine: PolicyEngine) -> None:
    late = dict(CONTEXT, now=NOW + 7200)
    doc = _doc(
        _case(policies=["baseline/owner-read"]),
        _case(
            name="after vetting expired",
            context=late,
            expect="deny",
            reasons=["vetting-missing-or-expired"],
        ),
    )
    results = run_cases(engine, load_cases(doc))
    assert [r.passed for r in results] == [True, True], results
    assert results[1].reasons == ("vetting-missing-or-expired",)
    assert results[1].policies == ("guard/vetting-current",)


def test_a_wrong_outcome_reason_or_policy_fails_and_says_why(engine: PolicyEngine) -> None:
    doc = _doc(
        _case(name="wrong outcome", expect="deny"),
        _case(name="wrong policies", policies=["baseline/licence-read"]),
        _case(
            name="wrong reasons",
            context=dict(CONTEXT, now=NOW + 7200),
            expect="deny",
            reasons=["principal-not-active"],
        ),
    )
    results = run_cases(engine, load_cases(doc))
    assert not any(r.passed for r in results)
    assert results[0].problems == ("expected deny, got allow",)
    assert "expected policies [baseline/licence-read]" in results[1].problems[0]
    assert "got [vetting-missing-or-expired]" in results[2].problems[0]


def test_a_deny_from_a_malformed_request_does_not_pass_by_accident(engine: PolicyEngine) -> None:
    doc = _doc(
        _case(name="no context", context={}, expect="deny"),
        _case(name="expected", context={}, expect="deny", reasons=["evaluation-error"]),
    )
    unclean, expected = run_cases(engine, load_cases(doc))
    assert not unclean.passed
    assert unclean.problems[0].startswith("the request did not evaluate cleanly")
    assert expected.passed


def test_an_unknown_principal_is_denied_by_the_guards(engine: PolicyEngine) -> None:
    reasons = [
        "clearance-below-classification",
        "principal-not-active",
        "vetting-missing-or-expired",
    ]
    doc = _doc(_case(principal="Person::p-nobody", expect="deny", reasons=reasons))
    assert run_cases(engine, load_cases(doc))[0].passed


def test_the_example_file_encodes_the_acceptance_table(engine: PolicyEngine) -> None:
    casefile = load_cases(EXAMPLE.read_bytes())
    results = run_cases(engine, casefile)
    assert len(results) >= 10
    assert all(r.passed for r in results), [r for r in results if not r.passed]
    outcomes = {r.name: r.actual for r in results}
    assert outcomes["German national in B with L-123 and TAA-7 covering DE"] == "allow"
    assert outcomes["dual national DE+CN under TAA-7 (DE only)"] == "deny"


@pytest.mark.parametrize(
    ("doc", "where"),
    [
        (b"{", "(json)"),
        (b"\xff", "not UTF-8"),
        (b"[]", "(top level): must be an object"),
        (b'{"cases": []}', "(top level): missing entities"),
        (b'{"entities": [], "cases": [], "extra": 1}', "unknown field 'extra'"),
        (b'{"entities": [], "entities": [], "cases": []}', "duplicate key 'entities'"),
        (b'{"entities": [], "cases": [NaN]}', "NaN"),
        (b'{"entities": {}, "cases": []}', "entities: must be a list"),
        (b'{"entities": [1], "cases": []}', "entities[0]: must be an object"),
        (b'{"entities": [], "cases": []}', "cases: must be a non-empty list"),
    ],
)
def test_malformed_files_are_refused(doc: bytes, where: str) -> None:
    with pytest.raises(FormatError, match=r"^case file: ") as info:
        load_cases(doc)
    assert where in info.value.message


@pytest.mark.parametrize(
    ("case", "where"),
    [
        (_case(name=""), "cases[1].name: must be a non-empty string"),
        (_case(expect="maybe"), 'cases[1].expect: must be "allow" or "deny"'),
        (_case(principal="Asset::a-1"), "cases[1].principal: must be Machine::ID or Person::ID"),
        (_case(principal="p-1"), "cases[1].principal"),
        (_case(principal='Person::p"1'), "cases[1].principal: invalid entity id"),
        (_case(resource="Person::p-1"), "cases[1].resource: must be Asset::ID"),
        (_case(action='read" || true'), "cases[1].action"),
        (_case(context=[]), "cases[1].context: must be an object"),
        (_case(description=5), "cases[1].description"),
        (_case(reasons=["x"]), "cases[1].reasons: an allow has no reasons"),
        (_case(expect="deny", reasons="x"), "cases[1].reasons: must be a list"),
        (_case(policies=[1]), "cases[1].policies[0]"),
        (_case(surprise=True), "cases[1]: unknown field 'surprise'"),
        (_case(action=None), "cases[1]: missing action"),
        (_case(), "cases[1].name: duplicate case name"),
    ],
)
def test_a_bad_case_is_refused_with_its_index(case: dict[str, Any], where: str) -> None:
    with pytest.raises(FormatError) as info:
        load_cases(_doc(_case(), case))
    assert where in info.value.message


def test_an_entity_that_does_not_conform_is_named(engine: PolicyEngine) -> None:
    bad = _entity("Organisation", "org-z", {"surprise": 1})
    casefile = load_cases(json.dumps({"entities": [*ENTITIES, bad], "cases": [_case()]}).encode())
    with pytest.raises(FormatError, match=r"entities\[4\]"):
        run_cases(engine, casefile)


def test_an_oversized_file_is_refused() -> None:
    with pytest.raises(LimitExceededError):
        load_cases(b" " * (MAX_CASE_FILE_BYTES + 1))


def test_entities_that_conform_alone_but_clash_together_are_refused(
    engine: PolicyEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    alone = engine.entities

    def together_only(entities: list[Any]) -> Any:  # a clash only the whole set shows
        if len(entities) > 1:
            raise ValueError("entities clash\nmore detail")
        return alone(entities)

    monkeypatch.setattr(engine, "entities", together_only)
    casefile = load_cases(json.dumps({"entities": ENTITIES, "cases": [_case()]}).encode())
    with pytest.raises(FormatError, match=r"entities: entities clash$"):
        run_cases(engine, casefile)
