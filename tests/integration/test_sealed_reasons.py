"""Refusal reasons that reveal sealed personal attributes are sealed in the log entries.

Six people of a partner organisation ask for one ITAR, confidential part that a
licence and a TAA (Germany only) cover: a dual national, a German abroad, a US
person in the US, a German whose clearance is too low, an unvetted German, and a
German who may read it. Before, the five refusals' plaintext reason codes told a
disk thief who is a dual national or a US person. Now their open entries are
identical; an authorised explainer still sees the true reason, an unauthorised
one is refused (journaled), and erasing the person makes the reason unreadable.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from forgekeep.clock import ManualClock
from forgekeep.crypto.signed import encode_vkey, generate_signer
from forgekeep.db.models import Event
from forgekeep.errors import AccessDeniedError
from forgekeep.service.access.sealed_reasons import GENERIC_REASON, SEALED_POLICY
from forgekeep.service.vault import Vault
from forgekeep.service.wiring import open_vault
from forgekeep.service.workspace.create import DB_FILE, InitResult
from forgekeep.testing.internals import context_of
from forgekeep.testing.vetting import ISSUER

PART = "blade.step"
#: Every code and guard id that would tell the thief something about a person.
REVEALING = (
    "citizenship-outside-export-authorisation",
    "export-authorisation-missing",
    "licence-does-not-apply",
    "clearance-below-classification",
    "vetting-missing-or-expired",
    "guard/itar",
    "guard/clearance",
    "guard/vetting",
    "guard/licence",
)
#: name → (citizenships, location, clearance or None for unvetted, the reason it is refused)
PEOPLE = {
    "dana": (["CN", "DE"], "DE", 2, "citizenship-outside-export-authorisation"),
    "franz": (["DE"], "FR", 2, "licence-does-not-apply"),
    "uwe": (["US"], "US", 2, "licence-does-not-apply"),
    "carl": (["DE"], "DE", 1, "clearance-below-classification"),
    "vera": (["DE"], "DE", None, "vetting-missing-or-expired"),
    "greta": (["DE"], "DE", 2, None),
}


@dataclasses.dataclass
class Scene:
    home: Path
    admin: Vault
    clock: ManualClock
    passphrase: bytes
    ids: dict[str, str]
    requests: dict[str, str]  # person → request id of their read


def _as(scene: Scene, pid: str) -> Vault:
    return open_vault(scene.home, passphrase=scene.passphrase, principal=pid, clock=scene.clock)


def _read(scene: Scene, pid: str) -> tuple[str, tuple[str, ...]]:
    with _as(scene, pid) as vault:
        try:
            return vault.assets.get(PART, io.BytesIO(), purpose="tooling").request_id, ()
        except AccessDeniedError as exc:
            return exc.request_id or "", exc.reasons


def _stock(admin: Vault, clock: ManualClock) -> dict[str, str]:
    admin.assets.put(io.BytesIO(b"ISO-10303-21; blade"), project="blade", name=PART,
              classification="confidential")  # fmt: skip
    admin.assets.classify(PART, export="ITAR:XI")
    admin.principals.add_organisation("partner-b", jurisdiction="DE")
    later = clock.now() + dt.timedelta(days=180)
    admin.licences.grant(
        licence_id="L-1", licensee="partner-b", assets=[f"blade/{PART}"], projects=[],
        actions=["read", "download"], territory="DE", purpose="tooling",
        valid_from=clock.now() - dt.timedelta(days=1), valid_until=later,
    )  # fmt: skip
    admin.export_auths.add(
        auth_id="TAA-1", holder="partner-b", kind="ITAR-TAA", reference="TAA-1-2026",
        assets=[f"blade/{PART}"], projects=[], destinations="DE", valid_until=later,
    )  # fmt: skip
    ids = {}
    for name, (citizenships, location, clearance, _) in PEOPLE.items():
        ids[name] = admin.principals.add_person(
            org="partner-b", display_name=name.title(), citizenships=citizenships,
            location=location, roles=["reader"],
        ).id  # fmt: skip
        if clearance is not None:
            ISSUER.vet(admin, ids[name], clock, clearance=clearance)
    return ids


@pytest.fixture
def scene(workspace: InitResult, vault: Vault, clock: ManualClock, passphrase: bytes) -> Scene:
    ids = _stock(vault, clock)
    made = Scene(workspace.home, vault, clock, passphrase, ids, {})
    for name in PEOPLE:
        request_id, reasons = _read(made, ids[name])
        expected = PEOPLE[name][3]
        assert (expected in reasons) if expected else not reasons, (name, reasons)
        made.requests[name] = request_id
    return made


def _refusal(scene: Scene, name: str) -> Event:
    with context_of(scene.admin).sessions() as session:
        row = session.scalar(
            select(Event).where(Event.request_id == scene.requests[name], Event.outcome == "denied")
        )
    assert row is not None, f"{name}'s refusal is journaled"
    return row


def test_a_disk_thief_cannot_tell_the_refusals_apart(scene: Scene) -> None:
    refused = [n for n in PEOPLE if PEOPLE[n][3] is not None]
    views = set()
    for name in refused:
        row = _refusal(scene, name)
        detail = json.loads(row.detail)
        assert detail.pop("sealed_for") == row.actor == scene.ids[name]
        assert detail.pop("sealed")
        entry = json.loads(row.entry)
        assert entry["detail"] == json.loads(row.detail), "the entry carries the same detail"
        views.add((row.action, row.outcome, row.target, json.dumps(detail, sort_keys=True)))
    assert len(views) == 1, "five refusals, one open view"
    ((_, _, _, shown),) = views
    assert json.loads(shown) == {
        "code": "FK-AUTHZ-001", "reasons": GENERIC_REASON, "policy": SEALED_POLICY,
    }  # fmt: skip
    raw = b"".join(p.read_bytes() for p in scene.home.glob(f"{DB_FILE}*"))
    for code in REVEALING:
        assert code.encode() not in raw, f"{code} is on the disk in the clear"


def test_an_authorised_explainer_sees_the_true_reason(scene: Scene) -> None:
    for name in ("dana", "uwe", "carl", "vera"):
        (event, *_) = scene.admin.access.explain(scene.requests[name]).events
        assert event.sealed == "opened"
        assert PEOPLE[name][3] in event.reasons, name
    with _as(scene, scene.ids["dana"]) as dana:  # the subject may read her own
        (event, *_) = dana.access.explain(scene.requests["dana"]).events
    assert "citizenship-outside-export-authorisation" in event.reasons
    with context_of(scene.admin).sessions() as session:
        explained = session.scalars(
            select(Event.detail).where(Event.action == "access.explain", Event.outcome == "ok")
        ).all()
    assert [json.loads(d)["opened_sealed"] for d in explained] == [1, 1, 1, 1, 1]


def test_an_unauthorised_explainer_is_refused_and_journaled(scene: Scene) -> None:
    # A vetted auditor who works abroad: explaining is allowed, opening sealed
    # reasons is an operator action that must come from an operator jurisdiction.
    abroad = scene.admin.principals.add_person(
        org="home", display_name="Otto Outside", citizenships=["DE"], location="FR",
        roles=["auditor"],
    ).id  # fmt: skip
    ISSUER.vet(scene.admin, abroad, scene.clock)
    with _as(scene, abroad) as auditor, pytest.raises(AccessDeniedError) as caught:
        auditor.access.explain(scene.requests["dana"])
    with context_of(scene.admin).sessions() as session:
        refusal = session.scalar(select(Event).where(Event.request_id == caught.value.request_id))
    assert refusal is not None
    assert (refusal.action, refusal.outcome, refusal.actor) == ("access.explain", "denied", abroad)
    assert json.loads(refusal.detail)["reasons"] == GENERIC_REASON  # his location, sealed too
    assert "citizenship" not in caught.value.message


def test_erasure_makes_the_sealed_reason_unreadable(scene: Scene, workspace: InitResult) -> None:
    admin, clock = scene.admin, scene.clock
    admin.assets.put(io.BytesIO(b"drawing"), project="blade", name="drawing.pdf",
              classification="confidential")  # fmt: skip
    eve = admin.principals.add_person(
        org="home", display_name="Eve", citizenships=["DE"], location="DE", roles=["reader"]
    ).id
    zed = admin.principals.add_person(
        org="home", display_name="Zed", citizenships=["DE"], location="DE", roles=["admin"]
    ).id
    approvers = [
        admin.principals.add_person(
            org="home", display_name=n, citizenships=["DE"], location="DE", roles=["approver"]
        ).id
        for n in ("Bob", "Cleo")
    ]
    keys = {pid: generate_signer(pid) for pid in approvers}
    for pid in (eve, zed, *approvers):
        ISSUER.vet(admin, pid, clock, clearance=1 if pid == eve else 3)
    for pid, key in keys.items():
        admin.principals.set_signing_key(pid, encode_vkey(key.verifier))
    with _as(scene, eve) as reader, pytest.raises(AccessDeniedError) as caught:
        reader.assets.get("drawing.pdf", io.BytesIO())
    read = caught.value.request_id or ""
    (before, *_) = admin.access.explain(read).events
    assert "clearance-below-classification" in before.reasons
    with _as(scene, zed) as other:
        approval = other.erasure.request(eve, reason="left the company")
        for key in keys.values():
            other.approvals.approve(approval.id, key)
        other.erasure.erase(approval.id)
    (after, *_) = admin.access.explain(read).events
    assert after.sealed == "unreadable"
    assert "clearance-below-classification" not in after.reasons


def test_a_what_if_verdict_about_a_person_is_sealed_under_their_key(scene: Scene) -> None:
    dana = scene.ids["dana"]
    result = scene.admin.access.what_if(principal=dana, action="download", asset=PART)
    assert not result.allowed
    assert "citizenship-outside-export-authorisation" in result.reasons  # shown to the asker
    with context_of(scene.admin).sessions() as session:
        stored = session.scalar(select(Event.detail).where(Event.request_id == result.request_id))
    assert stored is not None
    detail = json.loads(stored)
    assert detail["sealed_for"] == dana
    assert "would_reasons" not in detail
    assert "would_allow" not in detail
