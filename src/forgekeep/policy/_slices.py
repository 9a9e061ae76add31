"""Policy slices: only the policies whose scope can match a request are evaluated.

Cedar evaluates every policy on every call. A policy whose scope names another
action, or another resource (``resource == X``, ``resource in Project::"P"``),
cannot apply, so leaving it out cannot change the decision. A slice keeps every
policy whose action scope admits the action and whose resource scope is
unconstrained, a type test, or names the resource or one of the ancestors the
caller supplies; a policy whose scope tests the resource's type (``resource is
T``) is kept only for resources of that type, and an action list (``action in
[A, B]``) is exact when the schema declares no action groups. Anything the
indexer does not understand stays in every slice.

Security rule: slicing only ever drops policies that provably cannot match; a
property test compares sliced and full decisions over random requests. Slices
are built once per key and cached, so nothing is re-parsed per request.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import cedarpy

_MAX_CACHED_SLICES = 4096
# Ids that are written the same escaped or not; others are never used to drop a policy.
_PLAIN_ID = re.compile(r"[A-Za-z0-9._:-]+")


def _entity_key(entity: Mapping[str, Any]) -> str:
    return f'{entity["type"]}::"{entity["id"]}"'


@dataclass(frozen=True, slots=True)
class _Scope:
    actions: frozenset[str] | None  # action ids, or None for any action
    resources: frozenset[str] | None  # entity keys the resource must be or be in, or None
    resource_type: str | None = None  # `resource is T`: the type it must have, or None


def _action_scope(scope: Mapping[str, Any], *, flat_actions: bool) -> frozenset[str] | None:
    if scope.get("op") == "==":
        return frozenset({str(scope["entity"]["id"])})
    if flat_actions and scope.get("op") == "in" and "entities" in scope:
        # `action in [A, B]`: with no action groups in the schema, exactly A or B.
        return frozenset(str(e["id"]) for e in scope["entities"])
    return None  # All, or `in` a group (groups can nest): keep it everywhere


def _resource_scope(scope: Mapping[str, Any]) -> frozenset[str] | None:
    entity = scope.get("entity")
    if scope.get("op") in ("==", "in") and entity and _PLAIN_ID.fullmatch(str(entity["id"])):
        return frozenset({_entity_key(entity)})
    return None  # All, `is`, `is ... in`, slots, ids needing escapes: keep it everywhere


def _resource_type(scope: Mapping[str, Any]) -> str | None:
    return str(scope["entity_type"]) if scope.get("op") == "is" else None


def _type_of(key: str) -> str:
    """``Forgekeep::Asset::"a-1"`` → ``Forgekeep::Asset``."""
    return key.split('::"', 1)[0]


@dataclass(frozen=True, slots=True)
class _ActionIndex:
    general: frozenset[str]  # policies whose resource scope any resource meets
    by_key: Mapping[str, frozenset[str]]  # policies scoped to one named resource


class SliceIndex:
    """Indexes a parsed policy set by action and resource scope."""

    def __init__(self, policies_json: Mapping[str, Any], *, flat_actions: bool = False) -> None:
        """``flat_actions``: the schema declares no action groups, so action lists are exact."""
        self._policies: dict[str, Any] = dict(policies_json["staticPolicies"])
        self.flat_actions = flat_actions
        self._scopes = {
            pid: _Scope(
                _action_scope(body["action"], flat_actions=flat_actions),
                _resource_scope(body["resource"]),
                _resource_type(body["resource"]),
            )
            for pid, body in self._policies.items()
        }
        self._cache: dict[frozenset[str], cedarpy.PolicySet] = {}
        self._indexes: dict[tuple[str, str], _ActionIndex] = {}
        self.builds = 0

    def _matches(self, scope: _Scope, action: str, resource_type: str) -> bool:
        if scope.actions is not None and action not in scope.actions:
            return False
        return scope.resource_type is None or scope.resource_type == resource_type

    def _index(self, action: str, rtype: str) -> _ActionIndex:
        """Policies for one action and resource type: those any resource can meet, and
        those only a named resource (or a resource in it) can meet, by that name."""
        found = self._indexes.get((action, rtype))
        if found is None:
            general: set[str] = set()
            by_key: dict[str, set[str]] = {}
            for pid, scope in self._scopes.items():
                if not self._matches(scope, action, rtype):
                    continue
                if scope.resources is None:
                    general.add(pid)
                for key in scope.resources or ():
                    by_key.setdefault(key, set()).add(pid)
            found = _ActionIndex(frozenset(general), {k: frozenset(v) for k, v in by_key.items()})
            self._indexes[(action, rtype)] = found
        return found

    def policy_ids(self, action: str, resource_keys: Iterable[str]) -> frozenset[str]:
        """Policies that can apply; the first key is the resource itself."""
        keys = list(resource_keys)
        index = self._index(action, _type_of(keys[0]) if keys else "")
        ids = index.general
        for key in keys:
            specific = index.by_key.get(key)
            if specific:
                ids = ids | specific
        return ids

    def policy_set(self, action: str, resource_keys: Iterable[str]) -> cedarpy.PolicySet:
        """The cached PolicySet handle for this slice (built on first use)."""
        ids = self.policy_ids(action, resource_keys)
        cached = self._cache.get(ids)
        if cached is None:
            if len(self._cache) >= _MAX_CACHED_SLICES:
                self._cache.clear()
            document = {
                "staticPolicies": {pid: self._policies[pid] for pid in ids},
                "templates": {},
                "templateLinks": [],
            }
            cached = cedarpy.PolicySet.from_json_str(json.dumps(document))
            self._cache[ids] = cached
            self.builds += 1
        return cached
