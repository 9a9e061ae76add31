"""The Cedar policy engine: parsed once, evaluated many times, failing closed.

Security rules:

* Default deny: no permit, no access. An empty policy set denies everything.
* The schema and policies are parsed once into cedarpy handles and reused; they
  are never re-parsed per request (``PolicyEngine.parse_count`` proves it).
* Entities are validated against the schema before any evaluation; entities
  that do not conform (a missing or unknown attribute) make the request a
  deny, never a crash.
* Any evaluation error is a deny. Cedar skips a policy that errors, which for a
  ``forbid`` would silently allow; here a decision with errors is refused.
* Every decision names the policies that decided it by their ``@id``, and each
  guard ``forbid`` carries a ``@reason`` code for explanations that leak nothing.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

import cedarpy

from forgekeep.errors import ConfigError
from forgekeep.policy._slices import SliceIndex

NAMESPACE: Final = "Forgekeep"
# An action declared as a member of a group: `action "x" in ["g"] ...` / `in "g"`.
_ACTION_GROUP: Final = re.compile(r'\baction\s+"[^;]*?"\s+in\s*[\["]')
SCHEMA_VERSION: Final = 1
DEFAULT_DENY: Final = "default-deny"
INVALID_ENTITIES: Final = "invalid-entities"
EVALUATION_ERROR: Final = "evaluation-error"


def baseline_text() -> str:
    return resources.files("forgekeep.policy").joinpath("data/baseline.cedar").read_text()


def schema_text() -> str:
    return resources.files("forgekeep.policy").joinpath("data/schema.cedarschema").read_text()


#: A parsed entity set, as :meth:`PolicyEngine.entities` returns it (for callers' type hints;
#: only this package imports Cedar).
Entities = cedarpy.Entities
Schema = cedarpy.Schema


@functools.cache
def parsed_schema() -> Schema:
    """The Forgekeep schema, parsed once per process."""
    return cedarpy.Schema.from_str(schema_text())


@dataclass(frozen=True, slots=True)
class PolicyProblem:
    """One validation problem, located in the policy text when Cedar says where."""

    policy: str
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = f"{self.line}:{self.column}: " if self.line is not None else ""
        return f"{where}{self.policy}: {self.message}"


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    policies: tuple[str, ...]  # @id of every policy that determined the decision
    reasons: tuple[str, ...]  # @reason codes of the guards that denied, or a fixed code
    errors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Request:
    principal: str  # "Forgekeep::Person::\"p-…\""
    action: str  # "read"
    resource: str
    context: Mapping[str, Any]

    def to_cedar(self) -> dict[str, Any]:
        return {
            "principal": self.principal,
            "action": f'{NAMESPACE}::Action::"{self.action}"',
            "resource": self.resource,
            "context": dict(self.context),
        }


def _annotations(parsed: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Cedar's own policy ids (policy0, …) → their annotations."""
    return {
        pid: dict(body.get("annotations", {})) for pid, body in parsed["staticPolicies"].items()
    }


def statement_starts(text: str) -> list[int]:
    """Offsets where each policy statement starts (``;`` outside strings and comments)."""
    starts, start, i, in_string = [], None, 0, False
    while i < len(text):
        ch = text[i]
        if in_string:
            i += 2 if ch == "\\" else 1
            in_string = in_string and ch != '"'
            continue
        if text.startswith("//", i):
            newline = text.find("\n", i)
            i = len(text) if newline < 0 else newline
            continue
        if start is None and not ch.isspace():
            start = i
        in_string = ch == '"'
        if ch == ";" and start is not None:
            starts.append(start)
            start = None
        i += 1
    if start is not None:
        starts.append(start)
    return starts


def line_column(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def policy_location(
    text: str, starts: Sequence[int], policy_id: str
) -> tuple[int, int] | tuple[None, None]:
    """Line and column of Cedar's ``policyN`` in ``text`` (statements in source order)."""
    number = policy_id.removeprefix("policy")
    index = int(number) if policy_id.startswith("policy") and number.isdigit() else -1
    return line_column(text, starts[index]) if 0 <= index < len(starts) else (None, None)


def _first_bad_statement(text: str) -> tuple[int, int] | tuple[None, None]:
    """Line and column of the first statement that does not parse on its own."""
    starts = statement_starts(text)
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else len(text)
        try:
            cedarpy.PolicySet.from_str(text[start:end])
        except ValueError:
            return line_column(text, start)
    return None, None  # pragma: no cover (the whole fails but every statement parses alone)


class PolicyEngine:
    """A schema and a policy set, parsed once; decisions over validated entities."""

    parse_count = 0  # class-wide: how many times any engine parsed policies

    def __init__(self, policies: str, schema: str | None = None) -> None:
        self._schema_source = schema if schema is not None else schema_text()
        try:
            self.schema = cedarpy.Schema.from_str(self._schema_source)
            self.policy_set = cedarpy.PolicySet.from_str(policies)
        except ValueError as exc:
            raise ConfigError(f"the Cedar schema or policies do not parse: {exc}") from exc
        problems = validate_policies(policies, self.schema)
        if problems:
            raise ConfigError(f"policies fail validation: {problems[0]}")
        type(self).parse_count += 1
        parsed = json.loads(cedarpy.policies_to_json_str(policies))
        self._annotations = _annotations(parsed)
        self.slices = SliceIndex(parsed, flat_actions=not _ACTION_GROUP.search(self._schema_source))
        self.text = policies

    def entities(self, documents: Sequence[Mapping[str, Any]]) -> cedarpy.Entities:
        """Parse and validate entities against the schema (raises ValueError)."""
        return cedarpy.Entities.from_json_str(json.dumps(list(documents)), self.schema)

    def policy_ids(self) -> list[str]:
        return sorted(a.get("id", pid) for pid, a in self._annotations.items())

    def decide(
        self,
        request: Request,
        entities: cedarpy.Entities | None,
        *,
        resource_ancestors: Sequence[str] | None = None,
    ) -> Decision:
        """Evaluate one request; anything but a clean Allow is a deny.

        With ``resource_ancestors`` — *every* uid the resource is transitively
        ``in``, as the entity store records it — only the slice of policies whose
        scope can match is evaluated; without it, all are. Passing an incomplete
        ancestor list could drop a policy that applies, so callers build it from
        the same records they turn into entities.
        """
        if entities is None:
            return Decision(False, (), (INVALID_ENTITIES,))
        policies = self.policy_set
        if resource_ancestors is not None:
            keys = [request.resource, *resource_ancestors]
            policies = self.slices.policy_set(request.action, keys)
        try:
            result = cedarpy.is_authorized(request.to_cedar(), policies, entities, self.schema)
        except (ValueError, TypeError, RecursionError) as exc:
            return Decision(False, (), (INVALID_ENTITIES,), (type(exc).__name__,))
        return self._decision(result)

    def _decision(self, result: cedarpy.AuthzResult) -> Decision:
        errors = tuple(str(e) for e in result.diagnostics.errors)
        fired = [self._annotations.get(r, {}) for r in result.diagnostics.reasons]
        ids = tuple(sorted(a.get("id", "?") for a in fired))
        if errors:
            return Decision(False, ids, (EVALUATION_ERROR,), errors)
        if result.allowed:
            return Decision(True, ids, ())
        reasons = tuple(sorted({a["reason"] for a in fired if "reason" in a})) or (DEFAULT_DENY,)
        return Decision(False, ids, reasons)


def validate_policies(policies: str, schema: cedarpy.Schema | str) -> list[PolicyProblem]:
    """Parse and validate policy text against the schema; problems with locations."""
    try:
        cedarpy.PolicySet.from_str(policies)
    except ValueError as exc:
        line, column = _first_bad_statement(policies)
        return [PolicyProblem("(parse)", str(exc).splitlines()[0], line, column)]
    result = cedarpy.validate_policies(policies, schema)
    ids = result.id_annotations_by_policy_id
    starts = statement_starts(policies)
    return [
        PolicyProblem(
            ids.get(error.policy_id, error.policy_id),
            error.error,
            *policy_location(policies, starts, error.policy_id),
        )
        for error in result.errors
    ]
