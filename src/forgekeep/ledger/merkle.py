"""The Merkle tree of the transparency log (RFC 6962 §2.1, RFC 9162 §2.1).

Written from the RFC text. Hashing is SHA-256 with domain separation:
``leaf_hash(e) = SHA-256(0x00 ‖ e)``, ``node_hash(l, r) = SHA-256(0x01 ‖ l ‖ r)``
and the empty tree's root is ``SHA-256("")``.

Stored hashes. A log of ``n`` records keeps a flat, append-only array of
``stored_hash_count(n) = 2n − popcount(n)`` hashes: one for every *complete*
subtree (a run of ``2**level`` records starting at a multiple of ``2**level``).
When record ``n`` (0-based) is appended, its leaf hash is appended, then the
hash of every complete subtree that record ``n`` completes, lowest level first
(there are as many as ``n`` has trailing one bits). So the subtree at ``level``
covering records ``[k·2**level, (k+1)·2**level)`` is the ``level``-th hash
appended for its last record ``r = (k+1)·2**level − 1``, and lives at index
``stored_hash_count(r) + level`` (:func:`stored_hash_index`). Every root and
proof of any tree size ``≤ n`` is then a fold of at most ~2·log2(n) stored
hashes, fetched with one ``read_hashes`` call.

Security rules:

* Verification follows RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency)
  step by step, including its length checks: a proof one hash too long or too
  short fails. Roots are compared in constant time.
* Verification never trusts its arguments: sizes and indexes outside
  ``[0, 2**64)``, hashes that are not 32 bytes, wrong types or over-long proofs
  raise :class:`ProofError` (FK-LEDGER-001) and nothing else, before any
  hashing. Loops are bounded by ~65 iterations whatever the input.
* Proof *generation* refuses impossible arguments (index ≥ size, negative
  sizes) with :class:`UsageError`, and a hash store that answers with the wrong
  number or size of hashes with :class:`ProofError`: a proof is never built
  from a malformed store.
* A size-0 tree has exactly one root, ``EMPTY_ROOT``; verification of a
  consistency proof from size 0 insists on it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Protocol

from forgekeep.errors import ProofError, UsageError

HASH_SIZE = 32
MAX_TREE_SIZE = (1 << 64) - 1
"""Largest tree size (and index + 1) accepted: RFC 9162 sizes are uint64."""
MAX_PROOF_LENGTH = 65
"""No proof of a uint64-sized tree is longer: inclusion ≤ ⌈log2 n⌉, consistency ≤ ⌈log2 n⌉ + 1."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(entry: bytes) -> bytes:
    """RFC 6962 leaf hash: SHA-256(0x00 ‖ entry)."""
    return hashlib.sha256(_LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash: SHA-256(0x01 ‖ left ‖ right). Lengths are not checked."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()


class HashReader(Protocol):
    """Read stored hashes by index; one call is one round trip to the store."""

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        """The stored hashes at ``indexes``, in the same order."""
        ...


# ---------------------------------------------------------------- stored hash layout


def stored_hash_count(n: int) -> int:
    """How many stored hashes a tree of ``n`` records has: 2n − popcount(n)."""
    _require_size(n, "tree size")
    return _count(n)


def stored_hash_index(level: int, n: int) -> int:
    """Index of the hash of the complete subtree at ``level`` covering records
    ``[n << level, (n + 1) << level)``."""
    if not isinstance(level, int) or not 0 <= level < 64:
        raise UsageError(f"subtree level {level!r} is outside [0, 64)")
    _require_size(n, "subtree number")
    _require_size(((n + 1) << level) - 1, "last record of the subtree")
    return _index(level, n)


def _count(n: int) -> int:
    return 2 * n - n.bit_count()


def _index(level: int, n: int) -> int:
    """:func:`stored_hash_index` without the argument checks (callers derive valid ones)."""
    return _count(((n + 1) << level) - 1) + level


def new_stored_hashes(n: int, leaf: bytes, reader: HashReader) -> list[bytes]:
    """The hashes to append when record ``n`` with leaf hash ``leaf`` is appended.

    The first is ``leaf``; then one per complete subtree the record completes, lowest
    level first. Reads the left siblings (one ``read_hashes`` call, none for even ``n``).
    """
    _require_size(n, "record number")
    _require_size(n + 1, "tree size after the append")
    if not isinstance(leaf, bytes) or len(leaf) != HASH_SIZE:
        raise UsageError(f"a leaf hash is {HASH_SIZE} bytes")
    completed = (n ^ (n + 1)).bit_length() - 1  # trailing one bits of n
    lefts = _read(reader, [_index(level, (n >> level) - 1) for level in range(completed)])
    hashes, current = [leaf], leaf
    for left in lefts:
        current = node_hash(left, current)
        hashes.append(current)
    return hashes


class Frontier:
    """The right edge of a tree of ``n`` records: appends many records in memory.

    Holds MTH of each complete subtree making up ``[0, n)`` (at most 64), read
    with one ``read_hashes`` call. :meth:`append` returns exactly what
    :func:`new_stored_hashes` would, without a store round trip per record
    (property-tested equal in tests/property/test_merkle_props.py).
    """

    def __init__(self, size: int, edge: list[bytes]) -> None:
        _require_size(size, "tree size")
        if len(edge) != size.bit_count():
            raise ProofError("the right edge of the tree has the wrong number of hashes")
        self.size = size
        self._edge = edge

    @classmethod
    def read(cls, size: int, reader: HashReader) -> Frontier:
        _require_size(size, "tree size")
        return cls(size, _read(reader, [_index(lv, k) for lv, k in _subtrees(0, size)]))

    def append(self, leaf: bytes) -> list[bytes]:
        """The stored hashes record ``size`` adds (its leaf first, then lowest level first)."""
        n = self.size
        if n >= MAX_TREE_SIZE:
            raise UsageError("the tree is full")
        if type(leaf) is not bytes or len(leaf) != HASH_SIZE:
            raise UsageError(f"a leaf hash is {HASH_SIZE} bytes")
        hashes, current, edge = [leaf], leaf, self._edge
        for _ in range((n ^ (n + 1)).bit_length() - 1):  # trailing one bits of n
            current = node_hash(edge.pop(), current)
            hashes.append(current)
        edge.append(current)
        self.size = n + 1
        return hashes


# ---------------------------------------------------------------- roots and proofs


def tree_hash(n: int, reader: HashReader) -> bytes:
    """MTH(D[0:n]): the root of the first ``n`` records (``EMPTY_ROOT`` for 0)."""
    _require_size(n, "tree size")
    if n == 0:
        return EMPTY_ROOT
    return _range_hashes([(0, n)], reader)[0]


def inclusion_proof(index: int, n: int, reader: HashReader) -> list[bytes]:
    """PATH(index, D[0:n]) of RFC 6962 §2.1.1, innermost sibling first."""
    _require_size(n, "tree size")
    _require_size(index, "leaf index")
    if index >= n:
        raise UsageError(f"leaf index {index} is not below tree size {n}")
    siblings: list[tuple[int, int]] = []  # outermost first
    lo, hi = 0, n
    while hi - lo > 1:
        mid = lo + _split(hi - lo)
        if index < mid:
            siblings.append((mid, hi))
            hi = mid
        else:
            siblings.append((lo, mid))
            lo = mid
    siblings.reverse()
    return _range_hashes(siblings, reader)


def consistency_proof(m: int, n: int, reader: HashReader) -> list[bytes]:
    """PROOF(m, D[0:n]) of RFC 6962 §2.1.2. Empty for ``m == n`` and for ``m == 0``."""
    _require_size(n, "tree size")
    _require_size(m, "old tree size")
    if m > n:
        raise UsageError(f"old tree size {m} is larger than tree size {n}")
    if m == 0:
        return []
    ranges: list[tuple[int, int]] = []  # SUBPROOF siblings, outermost first
    lo, hi, whole = 0, n, True
    while m != hi:
        mid = lo + _split(hi - lo)
        if m <= mid:
            ranges.append((mid, hi))
            hi = mid
        else:
            ranges.append((lo, mid))
            lo, whole = mid, False
    if not whole:  # SUBPROOF(m, D[m], false) = {MTH(D[m])}
        ranges.append((lo, hi))
    ranges.reverse()
    return _range_hashes(ranges, reader)


def _split(size: int) -> int:
    """The largest power of two smaller than ``size`` (``size`` ≥ 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def _subtrees(lo: int, hi: int) -> list[tuple[int, int]]:
    """(level, number) of the complete subtrees making up records [lo, hi), left to right.

    ``lo`` is a multiple of a power of two ≥ ``hi − lo``, as every range in an RFC 6962
    tree is, so each piece is a stored subtree.
    """
    parts = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        parts.append((level, lo >> level))
        lo += 1 << level
    return parts


def _range_hashes(ranges: list[tuple[int, int]], reader: HashReader) -> list[bytes]:
    """MTH(D[lo:hi]) of every range, reading all stored hashes in one call."""
    pieces = [_subtrees(lo, hi) for lo, hi in ranges]
    stored = _read(reader, [_index(lv, k) for parts in pieces for lv, k in parts])
    out, at = [], 0
    for parts in pieces:
        # MTH of a range is its complete subtrees folded from the right.
        at += len(parts)
        current = stored[at - 1]
        for left in reversed(stored[at - len(parts) : at - 1]):
            current = node_hash(left, current)
        out.append(current)
    return out


def _read(reader: HashReader, indexes: list[int]) -> list[bytes]:
    if not indexes:
        return []
    hashes = reader.read_hashes(indexes)
    if len(hashes) != len(indexes) or any(
        not isinstance(h, bytes) or len(h) != HASH_SIZE for h in hashes
    ):
        raise ProofError("the hash store answered with missing or malformed hashes")
    return hashes


def _require_size(value: int, what: str) -> None:
    if not isinstance(value, int) or not 0 <= value <= MAX_TREE_SIZE:
        raise UsageError(f"{what} {value!r} is outside [0, 2**64)")


# ---------------------------------------------------------------- verification


def verify_inclusion(leaf: bytes, index: int, n: int, proof: Sequence[bytes], root: bytes) -> None:
    """Check that ``leaf`` is record ``index`` of the tree of size ``n`` with ``root``.

    RFC 9162 §2.1.3.2. Raises :class:`ProofError` if it is not.
    """
    leaf, root = _hash_arg(leaf, "leaf hash"), _hash_arg(root, "root")
    path = _path_arg(proof)
    if not _is_size(index) or not _is_size(n) or index >= n:
        raise ProofError("the leaf index is not inside the tree")
    fn, sn, r = index, n - 1, leaf
    for p in path:
        if sn == 0:
            raise ProofError("the inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn != 0 and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the inclusion proof is too short")
    if not hmac.compare_digest(r, root):
        raise ProofError("the inclusion proof does not lead to the root")


def verify_consistency(
    m: int, n: int, proof: Sequence[bytes], root_m: bytes, root_n: bytes
) -> None:
    """Check that the tree of size ``m`` and root ``root_m`` is a prefix of the tree of
    size ``n`` and root ``root_n``.

    RFC 9162 §2.1.4.2 for ``0 < m < n``. ``m == n`` needs an empty proof and equal roots;
    ``m == 0`` needs an empty proof and ``root_m == EMPTY_ROOT``. Raises :class:`ProofError`.
    """
    root_m, root_n = _hash_arg(root_m, "old root"), _hash_arg(root_n, "root")
    path = _path_arg(proof)
    if not _is_size(m) or not _is_size(n) or m > n:
        raise ProofError("the old tree size is not inside the tree")
    if m in (0, n):
        if path:
            raise ProofError("a consistency proof from size 0 or to the same size is empty")
        if m == 0 and not hmac.compare_digest(root_m, EMPTY_ROOT):
            raise ProofError("the root of the empty tree is not SHA-256 of nothing")
        if m == n and not hmac.compare_digest(root_m, root_n):
            raise ProofError("two roots of the same tree size differ")
        return
    if not path:
        raise ProofError("the consistency proof is empty")
    if m & (m - 1) == 0:
        path = [root_m, *path]
    fr, sr = _consistency_roots(m - 1, n - 1, path)
    if not hmac.compare_digest(fr, root_m) or not hmac.compare_digest(sr, root_n):
        raise ProofError("the consistency proof does not lead to the roots")


def _consistency_roots(fn: int, sn: int, path: list[bytes]) -> tuple[bytes, bytes]:
    """Steps 4-7 of RFC 9162 §2.1.4.2: the old and new roots the proof leads to."""
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn != 0 and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the consistency proof is too short")
    return fr, sr


def _is_size(value: object) -> bool:
    return isinstance(value, int) and 0 <= value <= MAX_TREE_SIZE


def _hash_arg(value: object, what: str) -> bytes:
    if not isinstance(value, bytes | bytearray) or len(value) != HASH_SIZE:
        raise ProofError(f"the {what} is not a {HASH_SIZE}-byte hash")
    return bytes(value)


def _path_arg(proof: object) -> list[bytes]:
    if not isinstance(proof, Sequence) or isinstance(proof, bytes | bytearray | str):
        raise ProofError("a proof is a sequence of hashes")
    if len(proof) > MAX_PROOF_LENGTH:
        raise ProofError("the proof is too long")
    return [_hash_arg(p, "proof hash") for p in proof]


# ---------------------------------------------------------------- in-memory store


class MemoryHashes:
    """Stored hashes in a Python list: for tests, the bench and offline verification."""

    def __init__(self) -> None:
        self._hashes: list[bytes] = []
        self._size = 0

    @property
    def size(self) -> int:
        """Number of records appended."""
        return self._size

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        count = len(self._hashes)
        for i in indexes:
            if not 0 <= i < count:
                raise UsageError(f"stored hash {i} does not exist (there are {count})")
        return [self._hashes[i] for i in indexes]

    def append(self, entry: bytes) -> int:
        """Append one record; returns its index."""
        return self.append_leaf(leaf_hash(entry))

    def append_leaf(self, leaf: bytes) -> int:
        """Append one record known only by its leaf hash; returns its index."""
        n = self._size
        self._hashes.extend(new_stored_hashes(n, leaf, self))
        self._size = n + 1
        return n
