"""Authorization decisions per second with >= 100 policies and 10,000 entities.

Runs, in one process:

* forgekeep: ``PolicyEngine.decide`` (schema, policies and entities parsed once
  into cedarpy handles and reused);
* raw cedarpy on the full policy set, passing the policy and entity *text* on
  every call (what a naive integration does), and through the same handles;
* cedarpy with an empty policy set: the fixed cost of one call, which no
  slicing can go below.

The slice cache is warmed first: a running service builds each slice once.

Prints decisions per second, p50/p99 latency, and the ratio.

    python bench/authz.py [--decisions 5000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import time
from typing import Any

import cedarpy

from forgekeep.policy import PolicyEngine, Request, baseline_text
from forgekeep.policy.entities import (
    Asset,
    Organisation,
    Person,
    Project,
    RequestContext,
    uid,
)

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
ORGS, PEOPLE, PROJECTS, ASSETS = 50, 4000, 950, 5000


def _policies(extra: int) -> str:
    generated = [
        f'@id("project/{i}") permit (principal in Forgekeep::Organisation::"org-{i % ORGS}", '
        f'action == Forgekeep::Action::"read", resource in Forgekeep::Project::"pr-{i}");'
        for i in range(extra)
    ]
    return baseline_text() + "\n" + "\n".join(generated)


def _entities(rng: random.Random) -> list[dict[str, Any]]:
    docs: list[Any] = [Organisation(f"org-{i}") for i in range(ORGS)]
    docs += [Project(f"pr-{i}", owner=f"org-{i % ORGS}") for i in range(PROJECTS)]
    docs += [
        Asset(f"a-{i}", owner=f"org-{i % ORGS}", project=f"pr-{i % PROJECTS}", itar=i % 7 == 0)
        for i in range(ASSETS)
    ]
    docs += [
        Person(
            f"p-{i}",
            org=f"org-{rng.randrange(ORGS)}",
            citizenships=frozenset({rng.choice(["DE", "FR", "US", "IT"])}),
            us_person=False,
            location="DE",
            clearance=rng.randrange(0, 4),
            vetting_expires=NOW + dt.timedelta(days=rng.randrange(-30, 300)),
            roles=frozenset({rng.choice(["reader", "writer", "auditor"])}),
        )
        for i in range(PEOPLE)
    ]
    return [d.to_cedar() for d in docs]


def _requests(rng: random.Random, count: int) -> list[Request]:
    ctx = RequestContext(NOW, "DE", "design", "mfa").to_cedar()
    return [
        Request(
            uid("Person", f"p-{rng.randrange(PEOPLE)}"),
            "read",
            uid("Asset", f"a-{rng.randrange(ASSETS)}"),
            ctx,
        )
        for _ in range(count)
    ]


def _project_of(asset_uid: str) -> str:
    number = int(asset_uid.rsplit("-", 1)[1].rstrip('"'))
    return uid("Project", f"pr-{number % PROJECTS}")


def _timed(decide: Any, requests: list[Request]) -> tuple[float, list[float], int]:
    latencies, allowed = [], 0
    started = time.perf_counter()
    for request in requests:
        t0 = time.perf_counter()
        allowed += bool(decide(request))
        latencies.append(time.perf_counter() - t0)
    return time.perf_counter() - started, latencies, allowed


def _line(name: str, total: float, latencies: list[float], allowed: int) -> float:
    count = len(latencies)
    rate = count / total
    p99 = statistics.quantiles(latencies, n=100)[98] * 1e3
    p50 = statistics.median(latencies) * 1e3
    print(f"{name:34} {rate:9.0f}/s  p50 {p50:.3f} ms  p99 {p99:.3f} ms  allowed {allowed}")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=5000)
    parser.add_argument("--extra-policies", type=int, default=100)
    args = parser.parse_args()
    rng = random.Random(7)
    policies, docs = _policies(args.extra_policies), _entities(rng)
    engine = PolicyEngine(policies)
    entities = engine.entities(docs)
    requests = _requests(rng, args.decisions)
    print(f"{len(engine.policy_ids())} policies, {len(docs)} entities, {args.decisions} decisions")
    fk = _line(
        "forgekeep PolicyEngine (handles)",
        *_timed(lambda r: engine.decide(r, entities).allowed, requests),
    )
    ancestors = {r.resource: [_project_of(r.resource)] for r in requests}
    builds = engine.slices.builds
    for r in requests:  # warm the slice cache: a running service builds each slice once
        engine.decide(r, entities, resource_ancestors=ancestors[r.resource])
    print(f"(warm-up built {engine.slices.builds - builds} slices, each parsed once and cached)")
    sliced = _line(
        "forgekeep PolicyEngine (sliced)",
        *_timed(
            lambda r: engine.decide(r, entities, resource_ancestors=ancestors[r.resource]).allowed,
            requests,
        ),
    )
    text, schema = json.dumps(docs), engine.schema
    naive = requests[: max(50, args.decisions // 50)]
    raw = _line(
        "raw cedarpy, text parsed per call",
        *_timed(
            lambda r: cedarpy.is_authorized(r.to_cedar(), policies, text, schema).allowed, naive
        ),
    )
    full = _line(
        "raw cedarpy, full set, handles",
        *_timed(
            lambda r: (
                cedarpy.is_authorized(r.to_cedar(), engine.policy_set, entities, schema).allowed
            ),
            requests,
        ),
    )
    empty = cedarpy.PolicySet.from_str("")
    floor = _line(
        "cedarpy floor: empty policy set",
        *_timed(
            lambda r: cedarpy.is_authorized(r.to_cedar(), empty, entities, schema).allowed,
            requests,
        ),
    )
    print(
        f"sliced: {sliced / full:.2f}x raw cedarpy on the full set (same handles); "
        f"{fk / raw:.0f}x cedarpy re-parsing per call; "
        f"{sliced / floor:.2f}x cedarpy's own per-call floor"
    )


if __name__ == "__main__":
    main()
