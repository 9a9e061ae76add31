"""Disaster recovery for the log: checkpoints and hash tiles mirrored to a blob site.

Security rules:

* Every signed checkpoint, and every full tile of 256 stored hashes, is also
  written to the workspace's first site under ``ledger/<tenant>/``. Objects are
  written once and never overwritten, so a later, different checkpoint of the
  same size cannot replace the first.
* ``ledger verify`` checks the live log against the newest mirrored checkpoint
  and every mirrored tile. A database restored from an older backup (a
  rollback) or rebuilt with another history is a :class:`ForkError`, even when
  nobody kept a checkpoint by hand.
* The mirror holds what the log holds (hashes and signed notes), never personal
  attributes or plaintext.
"""

from __future__ import annotations

from typing import Final

from forgekeep.crypto.signed import VerifierKey
from forgekeep.errors import BlobNotFoundError, ForkError, LimitExceededError
from forgekeep.ledger import audit, merkle
from forgekeep.limits import MAX_NOTE_BYTES
from forgekeep.service.context import ServiceContext
from forgekeep.storage.protocol import BlobStore

TILE_HASHES: Final = 256
_HASH: Final = merkle.HASH_SIZE


def _prefix(tenant_id: str) -> str:
    return f"ledger/{tenant_id}"


def _store(ctx: ServiceContext) -> BlobStore:
    return ctx.default_site.store


def _exists(store: BlobStore, key: str) -> bool:
    try:
        store.stat(key)
    except BlobNotFoundError:
        return False
    return True


def _put_once(store: BlobStore, key: str, data: bytes) -> None:
    if not _exists(store, key):
        store.put(key, [data])


def mirror(ctx: ServiceContext, size: int, note: bytes, reader: merkle.HashReader) -> None:
    """Write this checkpoint and every full tile not yet mirrored."""
    store, prefix = _store(ctx), _prefix(ctx.tenant_id)
    _put_once(store, f"{prefix}/checkpoints/{size:020d}.note", note)
    # Tiles are written in order, so walk back from the newest full one to the
    # first that already exists: each checkpoint costs only its new tiles.
    tile = merkle.stored_hash_count(size) // TILE_HASHES - 1
    while tile >= 0 and not _exists(store, f"{prefix}/tiles/{tile:012d}"):
        hashes = reader.read_hashes(range(tile * TILE_HASHES, (tile + 1) * TILE_HASHES))
        store.put(f"{prefix}/tiles/{tile:012d}", [b"".join(hashes)])
        tile -= 1


def has_checkpoints(ctx: ServiceContext) -> bool:
    """Whether the site holds any mirrored checkpoint of this tenant's log."""
    return next(iter(_store(ctx).list(f"{_prefix(ctx.tenant_id)}/checkpoints/")), None) is not None


def _read(store: BlobStore, key: str, limit: int) -> bytes:
    with store.get(key) as blob:
        data = blob.read(limit + 1)
    if len(data) > limit:
        raise LimitExceededError(f"mirrored object {key} is larger than {limit} bytes")
    return data


def check_against_mirror(
    ctx: ServiceContext, rebuilt: merkle.MemoryHashes, key: VerifierKey
) -> int | None:
    """The newest mirrored checkpoint's size, once it and every tile match the log."""
    store, prefix = _store(ctx), _prefix(ctx.tenant_id)
    notes = [info.key for info in store.list(f"{prefix}/checkpoints/")]
    newest = None
    if notes:
        newest = audit.check_checkpoint(rebuilt, _read(store, notes[-1], MAX_NOTE_BYTES), key)
    have = merkle.stored_hash_count(rebuilt.size)
    for info in store.list(f"{prefix}/tiles/"):
        tile = int(info.key.rsplit("/", 1)[1])
        end = (tile + 1) * TILE_HASHES
        if end > have:
            raise ForkError(f"the site holds tile {tile} of a longer log: it was rolled back")
        mirrored = _read(store, info.key, TILE_HASHES * _HASH)
        if mirrored != b"".join(rebuilt.read_hashes(range(tile * TILE_HASHES, end))):
            raise ForkError(f"tile {tile} on the site differs from the log: history was rewritten")
    return newest


def mirrored_coverage(ctx: ServiceContext) -> tuple[int, int]:
    """(largest checkpoint size named on the site, stored hashes its tiles hold).

    Read from the object names alone, signatures unchecked: a repair that may
    drop entries treats any of them as evidence the entries were published.
    """
    store, prefix = _store(ctx), _prefix(ctx.tenant_id)
    sizes = [_number(info.key) for info in store.list(f"{prefix}/checkpoints/")]
    tiles = [_number(info.key) for info in store.list(f"{prefix}/tiles/")]
    return max(sizes, default=0), (max(tiles) + 1) * TILE_HASHES if tiles else 0


def _number(key: str) -> int:
    name = key.rsplit("/", 1)[1].split(".", 1)[0]
    if not name.isdigit():
        raise ForkError(f"unexpected object {key} among the mirrored log")
    return int(name)
