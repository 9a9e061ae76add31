"""The slice index keeps exactly the policies whose scope can match."""

from __future__ import annotations

import pytest

from forgekeep.policy import PolicyEngine, _slices
from forgekeep.policy.engine import schema_text
from forgekeep.policy.entities import uid

POLICIES = """
@id("any") permit (principal, action, resource);
@id("read-in-p1") permit (principal, action == Forgekeep::Action::"read",
                          resource in Forgekeep::Project::"p1");
@id("share-or-download-a2") forbid (principal,
    action in [Forgekeep::Action::"share", Forgekeep::Action::"download"],
    resource == Forgekeep::Asset::"a2");
@id("assets") forbid (principal, action, resource is Forgekeep::Asset) when { false };
"""


def _ids(engine: PolicyEngine, action: str, *keys: str) -> set[str]:
    annotations = {pid: a["id"] for pid, a in engine._annotations.items()}
    return {annotations[p] for p in engine.slices.policy_ids(action, keys)}


def test_scopes_select_the_slice() -> None:
    engine = PolicyEngine(POLICIES)
    a1, a2, p1 = uid("Asset", "a1"), uid("Asset", "a2"), uid("Project", "p1")
    assert _ids(engine, "read", a1, p1) == {"any", "read-in-p1", "assets"}
    assert _ids(engine, "read", a1) == {"any", "assets"}
    assert _ids(engine, "share", a2) == {"any", "share-or-download-a2", "assets"}
    # The schema declares no action groups, so `action in [...]` is an exact list.
    assert _ids(engine, "modify", a2) == {"any", "assets"}
    # `resource is Asset` is kept only for assets.
    assert _ids(engine, "project.show", p1) == {"any"}


def test_with_action_groups_in_the_schema_an_action_list_is_kept_everywhere() -> None:
    grouped = schema_text().replace(
        'action "create", "list", "project.show", "project.set"',
        'action "edit";\n  action "create", "list", "project.show", "project.set" in ["edit"]',
    )
    engine = PolicyEngine(POLICIES, schema=grouped)
    assert not engine.slices.flat_actions
    a2 = uid("Asset", "a2")
    assert _ids(engine, "modify", a2) == {"any", "share-or-download-a2", "assets"}


def test_ids_that_need_escaping_never_drop_a_policy() -> None:
    engine = PolicyEngine(
        '@id("odd") forbid (principal, action, resource == '
        'Forgekeep::Asset::"a\\"b") when { false };'
    )
    annotations = {pid: a["id"] for pid, a in engine._annotations.items()}
    kept = {annotations[p] for p in engine.slices.policy_ids("read", [uid("Asset", "a1")])}
    assert kept == {"odd"}


def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_slices, "_MAX_CACHED_SLICES", 1)
    engine = PolicyEngine(POLICIES)
    first = engine.slices.policy_set("read", [uid("Asset", "a1")])
    engine.slices.policy_set("share", [uid("Asset", "a2")])
    assert engine.slices.policy_set("read", [uid("Asset", "a1")]) is not first
    assert engine.slices.builds == 3
