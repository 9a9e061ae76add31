"""A long-running host's group commit, through the real service: reads and refusals
join the sequencer's groups, stay durable before they answer, and are checkpointed."""

from __future__ import annotations

import datetime as dt
import io
import json
import threading

import pytest
from sqlalchemy import select

from forgekeep.clock import ManualClock
from forgekeep.crypto.signed import parse_vkey
from forgekeep.db.ledger import Checkpoint as CheckpointRow
from forgekeep.db.models import Event
from forgekeep.errors import AccessDeniedError, JournalError, NotFoundError, UsageError
from forgekeep.ledger.checkpoint import verify_checkpoint
from forgekeep.ledger.journal import JournalEvent, Outcome
from forgekeep.ledger.tlog_proof import verify_proof_file
from forgekeep.service.ledger.witnesses import Collected
from forgekeep.service.vault import Vault
from forgekeep.testing.internals import context_of


@pytest.fixture
def stocked(vault: Vault) -> Vault:
    for i in range(3):
        vault.assets.put(io.BytesIO(b"part %d" % i), project="blade", name=f"part-{i}.step")
    return vault


def _events(vault: Vault, request_id: str) -> list[tuple[int, str, str]]:
    with context_of(vault).sessions() as session:
        rows = session.execute(
            select(Event.log_index, Event.action, Event.outcome)
            .where(Event.request_id == request_id)
            .order_by(Event.log_index)
        )
        return [(int(i), a, o) for i, a, o in rows]


def test_reads_and_refusals_go_through_the_groups(stocked: Vault) -> None:
    with stocked.ledger.group_commit(max_delay=0.005, checkpoint_interval=0.05) as sequencer:
        result = stocked.assets.get("part-1.step", io.BytesIO(), receipt=True)
        # Durable before get returned: another session sees both phases now.
        phases = _events(stocked, result.request_id)
        assert [a for _, a, _ in phases] == ["asset.get", "asset.get"]
        with pytest.raises(NotFoundError) as refused:
            stocked.assets.get("no-such.step", io.BytesIO())
        assert _events(stocked, refused.value.request_id or "")[0][2] == "error"
        assert sequencer.stats.entries == 3  # decision, completion, refusal
    assert result.receipt is not None
    key = parse_vkey(stocked.ledger.key())
    assert verify_proof_file(result.receipt, key).index == phases[0][0]
    assert context_of(stocked).sequencer is None


def test_concurrent_readers_share_groups_and_the_log_stays_whole(stocked: Vault) -> None:
    errors: list[BaseException] = []

    def reader(name: str) -> None:
        try:
            for _ in range(5):
                stocked.assets.get(name, io.BytesIO())
        except BaseException as exc:  # noqa: BLE001 (reported by the assertion below)
            errors.append(exc)

    with stocked.ledger.group_commit(max_delay=0.02, checkpoint_interval=60) as sequencer:
        threads = [threading.Thread(target=reader, args=(f"part-{i % 3}.step",)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert sequencer.stats.entries == 4 * 5 * 2
    assert sequencer.stats.groups < sequencer.stats.entries  # some callers shared a group
    report = stocked.ledger.verify()
    with context_of(stocked).sessions() as session:
        newest = session.scalars(select(CheckpointRow).order_by(CheckpointRow.size.desc())).first()
    assert newest is not None  # the sequencer signed the entries when it stopped
    checked = verify_checkpoint(newest.note.encode(), parse_vkey(stocked.ledger.key()))
    assert checked.checkpoint.size == newest.size <= report.size


def test_the_cadence_signs_while_the_log_grows(stocked: Vault) -> None:
    with context_of(stocked).sessions() as session:
        before = session.scalar(select(CheckpointRow.size).order_by(CheckpointRow.size.desc()))
    with stocked.ledger.group_commit(checkpoint_interval=0.01) as sequencer:
        for _ in range(3):
            stocked.assets.get("part-0.step", io.BytesIO())
    assert sequencer.stats.checkpoints >= 1
    with context_of(stocked).sessions() as session:
        sizes = session.scalars(select(CheckpointRow.size)).all()
    assert max(sizes) > (before or 0)
    entry = json.loads(stocked.ledger.entry(max(sizes) - 1))
    assert entry["tenant"] == stocked.tenant_id


def test_group_commit_runs_once_and_fails_closed_when_stopped(stocked: Vault) -> None:
    with (
        stocked.ledger.group_commit() as sequencer,
        pytest.raises(UsageError, match="already running"),
        stocked.ledger.group_commit(),
    ):
        pass
    event = JournalEvent("asset.get", Outcome.OK, stocked.principal_id, "x", "req-x")
    with pytest.raises(JournalError, match="stopped"):
        sequencer.submit([event])


def test_follow_signs_only_when_the_log_has_grown(stocked: Vault) -> None:
    sizes: list[int] = []

    def signed(done: Collected) -> None:
        sizes.append(done.checkpoint.size)
        if len(sizes) == 1:  # activity between two ticks
            stocked.assets.put(io.BytesIO(b"late"), project="blade", name="late.step")

    stocked.ledger.follow(signed, interval=0.05, ticks=3)
    assert len(sizes) == 2  # the third tick found nothing new
    assert sizes[0] < sizes[1] == stocked.ledger.verify().size
    with pytest.raises(UsageError, match="interval"):
        stocked.ledger.follow(signed, interval=0.0)


def test_follow_stops_with_a_journaled_refusal_once_its_runner_is_not_allowed(
    stocked: Vault, clock: ManualClock
) -> None:
    def signed(_done: Collected) -> None:
        clock.advance(dt.timedelta(days=3650))  # the admin's vetting record expires

    with pytest.raises(AccessDeniedError) as refused:
        stocked.ledger.follow(signed, interval=0.05, ticks=3)
    assert "vetting" in ",".join(refused.value.reasons)
    with context_of(stocked).sessions() as session:
        last = session.scalars(select(Event).order_by(Event.seq.desc()).limit(1)).one()
    assert (last.action, last.outcome, last.target) == ("ledger.checkpoint", "denied", "follow")
