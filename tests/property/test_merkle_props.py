"""Property tests for the Merkle core.

* Any record of any tree size is provable, and its proof verifies.
* Any two sizes m ≤ n are consistent, and the proof verifies.
* One flipped bit in any proof hash, the root(s), the leaf or the index, and a proof one
  hash too long or too short, makes verification fail with ProofError.
* Roots computed from stored hashes equal the roots of a tree built from scratch.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from forgekeep.errors import ProofError
from forgekeep.ledger.merkle import (
    EMPTY_ROOT,
    Frontier,
    MemoryHashes,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    new_stored_hashes,
    node_hash,
    tree_hash,
    verify_consistency,
    verify_inclusion,
)

SIZE = 1100
STORE = MemoryHashes()
for _i in range(SIZE):
    STORE.append(_i.to_bytes(4, "big"))
ROOTS = [tree_hash(n, STORE) for n in range(SIZE + 1)]


def _flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[(bit // 8) % len(out)] ^= 1 << (bit % 8)
    return bytes(out)


def _fails(call: object, *args: object) -> bool:
    try:
        call(*args)  # type: ignore[operator]
    except ProofError:
        return True
    return False


@st.composite
def index_and_size(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(st.integers(1, SIZE))
    return draw(st.integers(0, n - 1)), n


@st.composite
def two_sizes(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(st.integers(1, SIZE))
    return draw(st.integers(1, n)), n


def _scratch_root(leaves: list[bytes]) -> bytes:
    """Pairwise reduction level by level; an odd last node is promoted (RFC 6962 shape)."""
    if not leaves:
        return EMPTY_ROOT
    level = leaves
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


@settings(max_examples=50)
@given(st.integers(0, 300))
def test_stored_roots_equal_scratch_roots(n: int) -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]
    assert ROOTS[n] == _scratch_root(leaves)


@settings(max_examples=300)
@given(index_and_size())
def test_any_index_is_provable(case: tuple[int, int]) -> None:
    index, n = case
    leaf = leaf_hash(index.to_bytes(4, "big"))
    verify_inclusion(leaf, index, n, inclusion_proof(index, n, STORE), ROOTS[n])


@settings(max_examples=300)
@given(two_sizes())
def test_any_two_sizes_are_consistent(case: tuple[int, int]) -> None:
    m, n = case
    verify_consistency(m, n, consistency_proof(m, n, STORE), ROOTS[m], ROOTS[n])


@settings(max_examples=200)
@given(index_and_size(), st.integers(0, 255), st.data())
def test_a_flipped_bit_breaks_inclusion(
    case: tuple[int, int], bit: int, data: st.DataObject
) -> None:
    index, n = case
    leaf = leaf_hash(index.to_bytes(4, "big"))
    path = inclusion_proof(index, n, STORE)
    root = ROOTS[n]
    assert _fails(verify_inclusion, _flip(leaf, bit), index, n, path, root)
    assert _fails(verify_inclusion, leaf, index, n, path, _flip(root, bit))
    assert _fails(verify_inclusion, leaf, index ^ (1 << (bit % 64)), n, path, root)
    if path:
        at = data.draw(st.integers(0, len(path) - 1))
        bad = [*path[:at], _flip(path[at], bit), *path[at + 1 :]]
        assert _fails(verify_inclusion, leaf, index, n, bad, root)


@settings(max_examples=200)
@given(two_sizes(), st.integers(0, 255), st.data())
def test_a_flipped_bit_breaks_consistency(
    case: tuple[int, int], bit: int, data: st.DataObject
) -> None:
    m, n = case
    path = consistency_proof(m, n, STORE)
    assert _fails(verify_consistency, m, n, path, _flip(ROOTS[m], bit), ROOTS[n])
    assert _fails(verify_consistency, m, n, path, ROOTS[m], _flip(ROOTS[n], bit))
    if path:
        at = data.draw(st.integers(0, len(path) - 1))
        bad = [*path[:at], _flip(path[at], bit), *path[at + 1 :]]
        assert _fails(verify_consistency, m, n, bad, ROOTS[m], ROOTS[n])


@settings(max_examples=200)
@given(index_and_size(), st.binary(min_size=32, max_size=32))
def test_wrong_length_inclusion_proofs_fail(case: tuple[int, int], extra: bytes) -> None:
    index, n = case
    leaf = leaf_hash(index.to_bytes(4, "big"))
    path = inclusion_proof(index, n, STORE)
    assert _fails(verify_inclusion, leaf, index, n, [*path, extra], ROOTS[n])
    assert _fails(verify_inclusion, leaf, index, n, [extra, *path], ROOTS[n])
    if path:
        assert _fails(verify_inclusion, leaf, index, n, path[:-1], ROOTS[n])
        assert _fails(verify_inclusion, leaf, index, n, path[1:], ROOTS[n])


@settings(max_examples=200)
@given(two_sizes(), st.binary(min_size=32, max_size=32))
def test_wrong_length_consistency_proofs_fail(case: tuple[int, int], extra: bytes) -> None:
    m, n = case
    path = consistency_proof(m, n, STORE)
    assert _fails(verify_consistency, m, n, [*path, extra], ROOTS[m], ROOTS[n])
    assert _fails(verify_consistency, m, n, [extra, *path], ROOTS[m], ROOTS[n])
    if path:
        assert _fails(verify_consistency, m, n, path[:-1], ROOTS[m], ROOTS[n])
        assert _fails(verify_consistency, m, n, path[1:], ROOTS[m], ROOTS[n])


@settings(max_examples=200)
@given(
    st.integers(-(2**70), 2**70),
    st.integers(-(2**70), 2**70),
    st.lists(st.binary(min_size=0, max_size=40), max_size=70),
    st.binary(min_size=0, max_size=40),
    st.binary(min_size=0, max_size=40),
)
def test_hostile_input_only_ever_raises_proof_error(
    a: int, b: int, proof: list[bytes], x: bytes, y: bytes
) -> None:
    calls: tuple[Callable[[], None], ...] = (
        lambda: verify_inclusion(x, a, b, proof, y),
        lambda: verify_consistency(a, b, proof, x, y),
    )
    for call in calls:
        with contextlib.suppress(ProofError):
            call()


class _Counting:
    """A hash reader that counts round trips."""

    def __init__(self, store: MemoryHashes) -> None:
        self.store, self.calls = store, 0

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        self.calls += 1
        return self.store.read_hashes(indexes)


@given(st.integers(0, SIZE - 40), st.integers(1, 40))
def test_the_right_edge_appends_exactly_the_stored_hashes(start: int, count: int) -> None:
    reader = _Counting(STORE)
    frontier = Frontier.read(start, reader)
    assert reader.calls == (1 if start.bit_count() else 0)  # one read, whatever ``count``
    for n in range(start, start + count):
        expected = new_stored_hashes(n, leaf_hash(n.to_bytes(4, "big")), STORE)
        assert frontier.append(leaf_hash(n.to_bytes(4, "big"))) == expected
    assert frontier.size == start + count
