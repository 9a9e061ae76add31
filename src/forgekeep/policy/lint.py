"""Policy lint: Cedar validation plus Forgekeep's own rules for policy files.

Security rule: every policy carries a unique ``@id`` (decisions name it) and
every ``forbid`` a ``@reason`` (refusals explain themselves without leaking
details); templates are refused until linking is audited. Pure text in, problems
out: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cedarpy

from forgekeep.policy.engine import policy_location, statement_starts, validate_policies


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    policy: str
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = f"{self.line}:{self.column}:" if self.line is not None else ""
        return f"{self.file}:{where} {self.policy}: {self.message}"


@dataclass(frozen=True, slots=True)
class _Located:
    """One policy of a file: its @id (if any), annotations and where it starts."""

    id: str | None
    annotations: dict[str, str]
    body: dict[str, Any]
    template: bool
    line: int | None
    column: int | None


def located_policies(text: str) -> list[_Located]:
    """The policies (and templates) of parsed text, in source order (text must parse)."""
    parsed = json.loads(cedarpy.policies_to_json_str(text))
    starts = statement_starts(text)
    located = []
    templates = parsed.get("templates", {})
    for pid, body in [*parsed["staticPolicies"].items(), *templates.items()]:
        line, column = policy_location(text, starts, pid)
        annotations = dict(body.get("annotations", {}))
        located.append(
            _Located(annotations.get("id"), annotations, body, pid in templates, line, column)
        )
    return sorted(located, key=lambda p: (p.line or 0, p.column or 0))


def check_files(
    sources: Sequence[tuple[str, str]], schema: cedarpy.Schema
) -> tuple[list[Problem], int]:
    """Problems in policy texts checked as one set, and how many policies they hold.

    Each text is validated against the schema; every policy needs an ``@id``,
    unique across all the texts, and every ``forbid`` a ``@reason``.
    """
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    count = 0
    for name, text in sources:
        found = validate_policies(text, schema)
        problems.extend(Problem(name, p.policy, p.message, p.line, p.column) for p in found)
        if any(p.policy == "(parse)" for p in found):
            continue
        for policy in located_policies(text):
            count += 1
            problems.extend(
                Problem(name, policy.id or "(no-id)", message, policy.line, policy.column)
                for message in _annotation_problems(policy, name, seen)
            )
    return problems, count


def _annotation_problems(policy: _Located, name: str, seen: dict[str, str]) -> list[str]:
    """Our rules on top of Cedar's: a unique @id, no templates, a @reason on every forbid."""
    messages = []
    if policy.id is None:
        messages.append("missing @id annotation")
    elif policy.id in seen:
        messages.append(f"duplicate @id (also in {seen[policy.id]})")
    else:
        seen[policy.id] = name
    if policy.template:
        messages.append("templates (?principal, ?resource) are not supported")
    if policy.body.get("effect") == "forbid" and "reason" not in policy.annotations:
        messages.append("a forbid needs a @reason code for explanations")
    return messages
