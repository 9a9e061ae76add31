"""What an attacker with write access to the database and the site, but no passphrase,
can do to the log: only ``sqlite3``, ``hashlib`` and the file system, nothing of Forgekeep.

Shared with tests/integration (its conftest puts this directory on ``sys.path``).
The stored-hash layout is the one docs/formats/ledger.md documents; recomputing it
needs plain SHA-256 and no key.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from pathlib import Path

TILE_HASHES = 256


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


def delete_and_rehash(database: Path, site: Path, tenant: str, victim: int) -> int:
    """Delete entry ``victim``, renumber and rehash the tail, and delete every checkpoint
    (rows and mirrored notes) and mirrored tile that would betray it. Returns the new size."""
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        db.execute("DELETE FROM events WHERE tenant_id = ? AND log_index = ?", (tenant, victim))
        later = db.execute(
            "SELECT log_index FROM events WHERE tenant_id = ? AND log_index > ? ORDER BY log_index",
            (tenant, victim),
        ).fetchall()
        for (index,) in later:  # one by one, upwards: the index is unique
            db.execute(
                "UPDATE events SET log_index = ? WHERE tenant_id = ? AND log_index = ?",
                (index - 1, tenant, index),
            )
        entries = [
            bytes(row[0])
            for row in db.execute(
                "SELECT entry FROM events WHERE tenant_id = ? AND log_index IS NOT NULL"
                " ORDER BY log_index",
                (tenant,),
            )
        ]
        db.execute("DELETE FROM ledger_hashes WHERE tenant_id = ?", (tenant,))
        hashes = stored_hashes(entries)
        db.executemany(
            "INSERT INTO ledger_hashes (tenant_id, idx, hash) VALUES (?, ?, ?)",
            [(tenant, i, h) for i, h in enumerate(hashes)],
        )
        db.execute("DELETE FROM checkpoints WHERE tenant_id = ? AND size > ?", (tenant, victim))
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


def delete_newest(database: Path, tenant: str) -> int:
    """Delete the newest ``events`` row only (its hashes stay): a broken tail."""
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        (newest,) = db.execute(
            "SELECT MAX(log_index) FROM events WHERE tenant_id = ?", (tenant,)
        ).fetchone()
        db.execute("DELETE FROM events WHERE tenant_id = ? AND log_index = ?", (tenant, newest))
    return int(newest)


def update_column(database: Path, tenant: str, index: int, column: str, value: str) -> None:
    """One UPDATE of a derived column of the ``events`` row at log ``index``."""
    if column not in {"outcome", "detail", "request_id", "actor"}:
        raise ValueError(column)
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        db.execute(
            f"UPDATE events SET {column} = ? WHERE tenant_id = ? AND log_index = ?",  # noqa: S608
            (value, tenant, index),
        )
