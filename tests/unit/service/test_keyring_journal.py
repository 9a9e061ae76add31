"""unlock and lock are journaled, refusals included; an unjournaled unlock is undone."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from forgekeep.db.engine import make_sessionmaker
from forgekeep.db.models import Event
from forgekeep.errors import JournalError, WrongPassphraseError
from forgekeep.service import wiring
from forgekeep.service.workspace import keyring
from forgekeep.service.workspace.create import InitResult
from forgekeep.testing.rawdb import workspace_engine


@pytest.fixture(autouse=True)
def _short_runtime_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="fk-", dir="/tmp"))
    return


def _events(workspace: InitResult) -> list[Event]:
    engine = workspace_engine(workspace.home)
    with make_sessionmaker(engine)() as session:
        rows = list(session.scalars(select(Event).order_by(Event.seq)).all())
    engine.dispose()
    return rows


def test_unlock_and_lock_are_journaled(workspace: InitResult, passphrase: bytes) -> None:
    try:
        pid = keyring.unlock_keyring(workspace.home, passphrase, 30)
        assert pid > 0
        assert wiring.keyring_unlocked(workspace.home)
    finally:
        assert keyring.lock_keyring(workspace.home)
    actions = [(e.action, e.outcome) for e in _events(workspace)][-2:]
    assert actions == [("keyring.unlock", "ok"), ("keyring.lock", "ok")]


def test_a_wrong_passphrase_is_journaled(workspace: InitResult) -> None:
    with pytest.raises(WrongPassphraseError) as caught:
        keyring.unlock_keyring(workspace.home, b"wrong", 30)
    last = _events(workspace)[-1]
    assert (last.action, last.outcome) == ("keyring.unlock", "error")
    assert json.loads(last.detail) == {"code": "FK-KEY-002"}
    assert last.request_id == caught.value.request_id
    assert not wiring.keyring_unlocked(workspace.home)


def test_an_unlock_that_cannot_be_journaled_is_undone(
    workspace: InitResult, passphrase: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> str:
        raise JournalError("journal device gone")

    monkeypatch.setattr(keyring, "_record", broken)
    with pytest.raises(JournalError):
        keyring.unlock_keyring(workspace.home, passphrase, 30)
    assert not wiring.keyring_unlocked(workspace.home)
