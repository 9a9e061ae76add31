"""What an attacker with write access to the database and the site, but no passphrase,
can do to the log: plain SQL on the database, ``hashlib`` and the file system.

The database is the one the workspace's plain-text ``forgekeep.toml`` names, SQLite or
PostgreSQL; the attacker reaches it with SQLAlchemy Core and text SQL, with no key and
nothing of Forgekeep's service. Shared with tests/integration (its conftest puts this
directory on ``sys.path``). The stored-hash layout is the one docs/formats/ledger.md
documents; recomputing it needs plain SHA-256 and no key.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, text

from forgekeep.testing.rawdb import workspace_engine

TILE_HASHES = 256


@contextlib.contextmanager
def _database(home: Path) -> Iterator[Connection]:
    """One transaction on the workspace's database, committed at the end."""
    engine = workspace_engine(home)
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        engine.dispose()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def stored_hashes(entries: list[bytes]) -> list[bytes]:
    """Every stored hash of a log of ``entries``: each leaf, then the subtrees it completes."""
    stored: list[bytes] = []
    edge: list[bytes] = []
    for n, entry in enumerate(entries):
        current = hashlib.sha256(b"\x00" + entry).digest()
        stored.append(current)
        for _ in range((n ^ (n + 1)).bit_length() - 1):
            current = _node(edge.pop(), current)
            stored.append(current)
        edge.append(current)
    return stored


def _stored_count(n: int) -> int:
    return 2 * n - n.bit_count()


def delete_and_rehash(home: Path, site: Path, tenant: str, victim: int) -> int:
    """Delete entry ``victim``, renumber and rehash the tail, and delete every checkpoint
    (rows and mirrored notes) and mirrored tile that would betray it. Returns the new size."""
    at = {"t": tenant, "v": victim}
    with _database(home) as db:
        db.execute(text("DELETE FROM events WHERE tenant_id = :t AND log_index = :v"), at)
        later = db.execute(
            text(
                "SELECT log_index FROM events WHERE tenant_id = :t AND log_index > :v"
                " ORDER BY log_index"
            ),
            at,
        ).all()
        for (index,) in later:  # one by one, upwards: the index is unique
            db.execute(
                text("UPDATE events SET log_index = :new WHERE tenant_id = :t AND log_index = :i"),
                {"new": index - 1, "t": tenant, "i": index},
            )
        entries = [
            bytes(entry)
            for (entry,) in db.execute(
                text(
                    "SELECT entry FROM events WHERE tenant_id = :t AND log_index IS NOT NULL"
                    " ORDER BY log_index"
                ),
                at,
            )
        ]
        db.execute(text("DELETE FROM ledger_hashes WHERE tenant_id = :t"), at)
        hashes = stored_hashes(entries)
        db.execute(
            text("INSERT INTO ledger_hashes (tenant_id, idx, hash) VALUES (:t, :i, :h)"),
            [{"t": tenant, "i": i, "h": h} for i, h in enumerate(hashes)],
        )
        db.execute(text("DELETE FROM checkpoints WHERE tenant_id = :t AND size > :v"), at)
    _scrub_site(site / "ledger" / tenant, victim, hashes)
    return len(entries)


def _scrub_site(mirror: Path, victim: int, hashes: list[bytes]) -> None:
    """Delete the notes that cover the victim; rewrite the tiles from the new hashes."""
    for note in (mirror / "checkpoints").glob("*.note"):
        if int(note.name.split(".")[0]) > victim:
            note.unlink()
    for tile in (mirror / "tiles").glob("*"):
        number = int(tile.name)
        end = (number + 1) * TILE_HASHES
        if end > _stored_count(victim):
            if end <= len(hashes):
                tile.write_bytes(b"".join(hashes[number * TILE_HASHES : end]))
            else:
                tile.unlink()


def delete_newest(home: Path, tenant: str) -> int:
    """Delete the newest ``events`` row only (its hashes stay): a broken tail."""
    with _database(home) as db:
        newest = db.execute(
            text("SELECT MAX(log_index) FROM events WHERE tenant_id = :t"), {"t": tenant}
        ).scalar_one()
        db.execute(
            text("DELETE FROM events WHERE tenant_id = :t AND log_index = :i"),
            {"t": tenant, "i": newest},
        )
    return int(newest)
