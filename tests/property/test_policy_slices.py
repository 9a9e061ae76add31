"""Slicing never changes a decision: sliced and full evaluation agree on random requests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from forgekeep.policy import PolicyEngine, Request, baseline_text
from forgekeep.policy.entities import (
    Asset,
    ExportAuth,
    Licence,
    Organisation,
    Person,
    Project,
    RequestContext,
    Tenant,
    uid,
)
from forgekeep.service.authz import SPECS, Scope

SPECS_TENANT = [spec.cedar for spec in SPECS.values() if spec.scope is Scope.TENANT]
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
ORGS, PROJECTS, ASSETS, PEOPLE = 4, 6, 12, 10
ACTIONS = ["read", "download", "modify", "manufacture", "share", "sublicense"]
ASSET_ACTIONS = [*ACTIONS, "inspect", "delete", "classify"]
PROJECT_ACTIONS = ["create", "list", "project.show", "project.set"]
TENANT_ACTIONS = sorted(set(SPECS_TENANT))
ROLES = ["admin", "writer", "reader", "auditor", "approver"]
EXTRA = "\n".join(
    [
        f'@id("project/{i}") permit (principal in Forgekeep::Organisation::"org-{i % ORGS}", '
        f'action == Forgekeep::Action::"{ACTIONS[i % 6]}", '
        f'resource in Forgekeep::Project::"pr-{i}");'
        for i in range(PROJECTS)
    ]
    + [
        f'@id("asset/{i}") forbid (principal, action in [Forgekeep::Action::"share", '
        f'Forgekeep::Action::"download"], resource == Forgekeep::Asset::"a-{i}");'
        for i in range(0, ASSETS, 3)
    ]
)
ENGINE = PolicyEngine(baseline_text() + "\n" + EXTRA)
DOCS: list[Any] = [Organisation(f"org-{i}") for i in range(ORGS)]
DOCS += [Project(f"pr-{i}", owner=f"org-{i % ORGS}") for i in range(PROJECTS)]
DOCS += [
    Asset(f"a-{i}", owner=f"org-{i % ORGS}", project=f"pr-{i % PROJECTS}", itar=i % 4 == 0)
    for i in range(ASSETS)
]
DOCS += [
    Person(
        f"p-{i}",
        org=f"org-{i % ORGS}",
        citizenships=frozenset({"DE"} | ({"US"} if i % 3 else set())),
        us_person=i % 5 == 0,
        location=["DE", "US"][i % 2],
        clearance=i % 4,
        vetting_expires=NOW + dt.timedelta(days=(i % 3) - 1),
        roles=frozenset({ROLES[i % 5]}),
    )
    for i in range(PEOPLE)
]
DOCS += [Tenant("t-1", frozenset({"DE"}))]
DOCS += [
    Licence(
        "L-1",
        licensee="org-1",
        assets=frozenset({"a-1", "a-5"}),
        actions=frozenset({"read", "modify"}),
        territory=frozenset({"DE"}),
        purpose="tooling",
        valid_from=NOW - dt.timedelta(days=1),
        valid_until=NOW + dt.timedelta(days=1),
    ),
    ExportAuth(
        "E-1",
        holder="org-1",
        kind="ITAR-TAA",
        assets=frozenset({"a-4", "a-8"}),
        destinations=frozenset({"DE"}),
        valid_until=NOW + dt.timedelta(days=1),
    ),
]
ENTITIES = ENGINE.entities([d.to_cedar() for d in DOCS])


@settings(max_examples=300, deadline=None)
@given(
    person=st.integers(0, PEOPLE - 1),
    asset=st.integers(0, ASSETS - 1),
    action=st.sampled_from(ASSET_ACTIONS),
    source=st.sampled_from(["DE", "US", "FR"]),
    purpose=st.sampled_from(["tooling", "design"]),
    licence=st.sampled_from([None, "L-1"]),
    export_auth=st.sampled_from([None, "E-1"]),
)
def test_sliced_and_full_decisions_agree(
    person: int,
    asset: int,
    action: str,
    source: str,
    purpose: str,
    licence: str | None,
    export_auth: str | None,
) -> None:
    context = RequestContext(NOW, source, purpose, "mfa", licence, export_auth).to_cedar()
    request = Request(uid("Person", f"p-{person}"), action, uid("Asset", f"a-{asset}"), context)
    project = uid("Project", f"pr-{asset % PROJECTS}")
    full = ENGINE.decide(request, ENTITIES)
    sliced = ENGINE.decide(request, ENTITIES, resource_ancestors=[project])
    assert (sliced.allowed, sliced.reasons, sorted(sliced.policies)) == (
        full.allowed,
        full.reasons,
        sorted(full.policies),
    )


@settings(max_examples=200, deadline=None)
@given(
    person=st.integers(0, PEOPLE - 1),
    project=st.integers(0, PROJECTS - 1),
    action=st.sampled_from(PROJECT_ACTIONS + TENANT_ACTIONS),
    source=st.sampled_from(["DE", "US"]),
)
def test_sliced_and_full_agree_on_project_and_tenant_actions(
    person: int, project: int, action: str, source: str
) -> None:
    context = RequestContext(NOW, source, "design", "mfa").to_cedar()
    on_project = action in PROJECT_ACTIONS
    resource = uid("Project", f"pr-{project}") if on_project else uid("Tenant", "t-1")
    request = Request(uid("Person", f"p-{person}"), action, resource, context)
    full = ENGINE.decide(request, ENTITIES)
    sliced = ENGINE.decide(request, ENTITIES, resource_ancestors=[])
    assert (sliced.allowed, sliced.reasons, sorted(sliced.policies)) == (
        full.allowed,
        full.reasons,
        sorted(full.policies),
    )


def test_slices_are_built_once_and_smaller_than_the_whole() -> None:
    before = ENGINE.slices.builds
    keys = [uid("Asset", "a-1"), uid("Project", "pr-1")]
    first = ENGINE.slices.policy_set("read", keys)
    again = ENGINE.slices.policy_set("read", keys)
    assert first is again
    assert ENGINE.slices.builds <= before + 1
    assert len(ENGINE.slices.policy_ids("read", keys)) < len(ENGINE.policy_ids())
