"""Decision test cases: a JSON file of entities and requests, each with the expected outcome.

The format is documented in ``docs/policy.md``. This module is pure: the CLI
reads the file and hands over its bytes; nothing here touches the disk.

Security rules:

* The case file is untrusted input: it is bounded (:data:`MAX_CASE_FILE_BYTES`),
  parsed strictly (no duplicate keys, no NaN, exact field sets) and every
  problem is a :class:`FormatError` naming where it is (``cases[3].expect``).
* Entity ids and action names are checked before they are placed in Cedar
  references, so no id can smuggle quotes or a type change into a request.
* Cases run through :meth:`PolicyEngine.decide`, so they see exactly the
  fail-closed decisions the service sees.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, NoReturn

from forgekeep.errors import FormatError, InvalidNameError, LimitExceededError
from forgekeep.limits import MAX_CASE_FILE_BYTES
from forgekeep.policy.engine import (
    EVALUATION_ERROR,
    INVALID_ENTITIES,
    Decision,
    PolicyEngine,
    Request,
)
from forgekeep.policy.entities import uid

#: The largest case file accepted.
PRINCIPAL_KINDS: Final = frozenset({"Person", "Machine"})
RESOURCE_KINDS: Final = frozenset({"Asset"})
ALLOW: Final = "allow"
DENY: Final = "deny"

_HINT: Final = "see docs/policy.md for the case file format"
_ACTION: Final = re.compile(r"[a-z][a-z0-9_-]{0,63}")
_UNCLEAN: Final = frozenset({INVALID_ENTITIES, EVALUATION_ERROR})
_TOP_FIELDS: Final = frozenset({"description", "entities", "cases"})
_CASE_REQUIRED: Final = frozenset({"name", "principal", "action", "resource", "context", "expect"})
_CASE_OPTIONAL: Final = frozenset({"description", "reasons", "policies"})

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Case:
    """One request and what the policies must decide for it."""

    name: str
    principal: str  # Cedar uid, e.g. Forgekeep::Person::"p-1"
    action: str
    resource: str
    context: Mapping[str, Any]
    expect: str  # "allow" or "deny"
    reasons: tuple[str, ...] | None = None  # exact set of @reason codes, sorted
    policies: tuple[str, ...] | None = None  # exact set of deciding @ids, sorted

    def request(self) -> Request:
        return Request(self.principal, self.action, self.resource, self.context)


@dataclass(frozen=True, slots=True)
class CaseFile:
    entities: tuple[Json, ...]
    cases: tuple[Case, ...]


@dataclass(frozen=True, slots=True)
class CaseResult:
    name: str
    passed: bool
    expected: str
    actual: str
    policies: tuple[str, ...]
    reasons: tuple[str, ...]
    problems: tuple[str, ...] = ()  # why it failed, one line each


def _fail(where: str, message: str) -> NoReturn:
    raise FormatError(f"case file: {where}: {message}", hint=_HINT)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> Json:
    seen: Json = {}
    for key, value in pairs:
        if key in seen:
            _fail("(json)", f"duplicate key {key[:40]!r}")
        seen[key] = value
    return seen


def _no_constant(name: str) -> NoReturn:
    _fail("(json)", f"{name} is not a number JSON allows")


def _fields(where: str, value: Any, required: frozenset[str], optional: frozenset[str]) -> Json:
    if not isinstance(value, dict):
        _fail(where, "must be an object")
    missing = sorted(required - value.keys())
    if missing:
        _fail(where, f"missing {', '.join(missing)}")
    unknown = sorted(value.keys() - required - optional)
    if unknown:
        _fail(where, f"unknown field {unknown[0][:40]!r}")
    return value


def _string(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        _fail(where, "must be a non-empty string")
    return value


def _string_set(where: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        _fail(where, "must be a list of strings")
    return tuple(sorted({_string(f"{where}[{i}]", item) for i, item in enumerate(value)}))


def _entity_uid(where: str, value: Any, kinds: frozenset[str]) -> str:
    """``Kind::id`` (the namespace is added) → the Cedar entity reference."""
    kind, sep, entity_id = _string(where, value).partition("::")
    if not sep or kind not in kinds:
        _fail(where, f"must be {' or '.join(f'{k}::ID' for k in sorted(kinds))}")
    try:
        return uid(kind, entity_id)
    except InvalidNameError:
        _fail(where, f"invalid entity id {entity_id[:40]!r}")


def _case(index: int, raw: Any) -> Case:
    where = f"cases[{index}]"
    body = _fields(where, raw, _CASE_REQUIRED, _CASE_OPTIONAL)
    action = _string(f"{where}.action", body["action"])
    if _ACTION.fullmatch(action) is None:
        _fail(f"{where}.action", "must be an action name such as read")
    context = body["context"]
    if not isinstance(context, dict):
        _fail(f"{where}.context", "must be an object (Cedar context JSON)")
    expect = body["expect"]
    if expect not in (ALLOW, DENY):
        _fail(f"{where}.expect", 'must be "allow" or "deny"')
    if "description" in body:
        _string(f"{where}.description", body["description"])
    reasons = _string_set(f"{where}.reasons", body["reasons"]) if "reasons" in body else None
    if reasons and expect == ALLOW:
        _fail(f"{where}.reasons", "an allow has no reasons; list reasons only for a deny")
    policies = _string_set(f"{where}.policies", body["policies"]) if "policies" in body else None
    return Case(
        name=_string(f"{where}.name", body["name"]),
        principal=_entity_uid(f"{where}.principal", body["principal"], PRINCIPAL_KINDS),
        action=action,
        resource=_entity_uid(f"{where}.resource", body["resource"], RESOURCE_KINDS),
        context=context,
        expect=expect,
        reasons=reasons,
        policies=policies,
    )


def load_cases(data: bytes) -> CaseFile:
    """Parse and check a case file; :class:`FormatError` says where it is wrong."""
    if len(data) > MAX_CASE_FILE_BYTES:
        raise LimitExceededError(f"a case file is at most {MAX_CASE_FILE_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        _fail("(json)", "not UTF-8 text")
    try:
        raw = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        _fail("(json)", f"line {exc.lineno} column {exc.colno}: {exc.msg}")
    top = _fields("(top level)", raw, frozenset({"entities", "cases"}), _TOP_FIELDS)
    if "description" in top:
        _string("description", top["description"])
    entities = top["entities"]
    if not isinstance(entities, list):
        _fail("entities", "must be a list of Cedar entity objects")
    for index, entity in enumerate(entities):
        if not isinstance(entity, dict):
            _fail(f"entities[{index}]", "must be an object (Cedar entity JSON)")
    cases_raw = top["cases"]
    if not isinstance(cases_raw, list) or not cases_raw:
        _fail("cases", "must be a non-empty list")
    cases = tuple(_case(index, raw_case) for index, raw_case in enumerate(cases_raw))
    names: set[str] = set()
    for index, case in enumerate(cases):
        if case.name in names:
            _fail(f"cases[{index}].name", f"duplicate case name {case.name[:60]!r}")
        names.add(case.name)
    return CaseFile(tuple(entities), cases)


def _parsed_entities(engine: PolicyEngine, entities: Sequence[Json]) -> Any:
    """All entities, validated against the schema; the first bad one is named."""
    try:
        return engine.entities(entities)
    except ValueError as exc:
        for index, entity in enumerate(entities):
            try:
                engine.entities([entity])
            except ValueError as one:
                _fail(f"entities[{index}]", str(one).splitlines()[0])
        _fail("entities", str(exc).splitlines()[0])


def _check(case: Case, decision: Decision) -> CaseResult:
    actual = ALLOW if decision.allowed else DENY
    problems = []
    if actual != case.expect:
        problems.append(f"expected {case.expect}, got {actual}")
    if case.reasons is not None and case.reasons != decision.reasons:
        problems.append(
            f"expected reasons [{', '.join(case.reasons)}], got [{', '.join(decision.reasons)}]"
        )
    elif case.reasons is None and _UNCLEAN & set(decision.reasons):
        # A malformed request denies (fail closed), but a test must not pass by accident.
        detail = decision.errors[0].splitlines()[0] if decision.errors else decision.reasons[0]
        problems.append(f"the request did not evaluate cleanly: {detail}")
    if case.policies is not None and case.policies != decision.policies:
        problems.append(
            f"expected policies [{', '.join(case.policies)}], got [{', '.join(decision.policies)}]"
        )
    return CaseResult(
        case.name,
        not problems,
        case.expect,
        actual,
        decision.policies,
        decision.reasons,
        tuple(problems),
    )


def run_cases(engine: PolicyEngine, casefile: CaseFile) -> list[CaseResult]:
    """Decide every case over the file's entities; one result per case, in order."""
    entities = _parsed_entities(engine, casefile.entities)
    return [_check(case, engine.decide(case.request(), entities)) for case in casefile.cases]
