"""The Merkle core: stored-hash layout, batched reads, and refusal of bad input."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from forgekeep.errors import ProofError, UsageError
from forgekeep.ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    MAX_PROOF_LENGTH,
    MAX_TREE_SIZE,
    Frontier,
    MemoryHashes,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    new_stored_hashes,
    node_hash,
    stored_hash_count,
    stored_hash_index,
    tree_hash,
    verify_consistency,
    verify_inclusion,
)

H = bytes(range(32))


class CountingReader:
    """A MemoryHashes wrapper that records every read_hashes call."""

    def __init__(self, inner: MemoryHashes) -> None:
        self.inner, self.calls = inner, 0

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        self.calls += 1
        return self.inner.read_hashes(indexes)


class UniformReader:
    """The stored hashes of a log whose every leaf hash is H, of any size up to 2**64 − 1.

    A subtree's hash depends only on its level, so each index is mapped back to its level.
    """

    def __init__(self) -> None:
        self.by_level = [H]
        for _ in range(64):
            self.by_level.append(node_hash(self.by_level[-1], self.by_level[-1]))

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        return [self.by_level[self._level(i)] for i in indexes]

    @staticmethod
    def _level(index: int) -> int:
        lo, hi = 0, MAX_TREE_SIZE  # the last record r with stored_hash_count(r) <= index
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if stored_hash_count(mid) <= index else (lo, mid - 1)
        return index - stored_hash_count(lo)


class BadReader:
    def __init__(self, answer: list[bytes]) -> None:
        self.answer = answer

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        return self.answer


@pytest.fixture(scope="module")
def store() -> MemoryHashes:
    hashes = MemoryHashes()
    for i in range(100):
        assert hashes.append(i.to_bytes(4, "big")) == i
    return hashes


def test_layout_counts_and_indexes() -> None:
    assert [stored_hash_count(n) for n in range(9)] == [0, 1, 3, 4, 7, 8, 10, 11, 15]
    # record 0: [0]; record 1: [1, (1,0)=2]; record 2: [3]; record 3: [4, (1,1)=5, (2,0)=6]
    assert [stored_hash_index(0, k) for k in range(4)] == [0, 1, 3, 4]
    assert stored_hash_index(1, 0) == 2
    assert stored_hash_index(1, 1) == 5
    assert stored_hash_index(2, 0) == 6
    assert stored_hash_index(3, 0) == 14


def test_every_index_is_used_exactly_once() -> None:
    n = 64
    seen = sorted(stored_hash_index(level, k) for level in range(7) for k in range(n >> level))
    assert seen == list(range(stored_hash_count(n)))


def test_memory_hashes_matches_layout(store: MemoryHashes) -> None:
    assert store.size == 100
    assert len(store.read_hashes(range(stored_hash_count(100)))) == stored_hash_count(100)
    with pytest.raises(UsageError):
        store.read_hashes([stored_hash_count(100)])
    with pytest.raises(UsageError):
        store.read_hashes([-1])
    left, right = store.read_hashes([stored_hash_index(0, 6), stored_hash_index(0, 7)])
    assert store.read_hashes([stored_hash_index(1, 3)]) == [node_hash(left, right)]
    assert left == leaf_hash((6).to_bytes(4, "big"))


def test_new_stored_hashes_first_is_the_leaf(store: MemoryHashes) -> None:
    assert new_stored_hashes(100, H, store) == [H]  # 100 is even: nothing completes
    hashes = new_stored_hashes(99, leaf_hash((99).to_bytes(4, "big")), store)
    assert len(hashes) == 3  # 99 = 0b1100011
    assert hashes == store.read_hashes([stored_hash_count(99) + i for i in range(3)])


def test_reads_are_batched(store: MemoryHashes) -> None:
    reader = CountingReader(store)
    for n in (1, 7, 64, 99):
        reader.calls = 0
        tree_hash(n, reader)
        inclusion_proof(n // 2, n, reader)
        consistency_proof(max(1, n // 3), n, reader)
        assert reader.calls <= 3
    reader.calls = 0
    assert tree_hash(0, reader) == EMPTY_ROOT
    assert inclusion_proof(0, 1, reader) == []
    assert consistency_proof(5, 5, reader) == []
    assert consistency_proof(0, 5, reader) == []
    assert reader.calls == 0


def test_generation_refuses_impossible_arguments(store: MemoryHashes) -> None:
    bad_calls: list[Callable[[], object]] = [
        lambda: inclusion_proof(5, 5, store),
        lambda: inclusion_proof(-1, 5, store),
        lambda: inclusion_proof(0, -1, store),
        lambda: inclusion_proof(0, MAX_TREE_SIZE + 1, store),
        lambda: consistency_proof(6, 5, store),
        lambda: consistency_proof(-1, 5, store),
        lambda: tree_hash(-1, store),
        lambda: tree_hash("3", store),  # type: ignore[arg-type]
        lambda: stored_hash_count(-1),
        lambda: stored_hash_index(-1, 0),
        lambda: stored_hash_index(64, 0),
        lambda: stored_hash_index(0, -1),
        lambda: stored_hash_index(63, 2),  # its last record is beyond 2**64 − 1
        lambda: new_stored_hashes(-1, H, store),
        lambda: new_stored_hashes(MAX_TREE_SIZE, H, store),
        lambda: new_stored_hashes(0, H[:31], store),
        lambda: new_stored_hashes(0, "x" * 32, store),  # type: ignore[arg-type]
        lambda: inclusion_proof(0, 500, store),  # beyond what the store holds
    ]
    for call in bad_calls:
        with pytest.raises(UsageError):
            call()


@pytest.mark.parametrize(
    "answer", [[], [H], [H, H, H], [H, H[:31]], [H, bytearray(H)], [H, "x" * 32]], ids=repr
)
def test_a_malformed_store_answer_is_a_proof_error(answer: list[bytes]) -> None:
    with pytest.raises(ProofError):
        tree_hash(3, BadReader(answer))


def test_huge_trees_prove_and_verify() -> None:
    reader = UniformReader()
    for n in (2**63, 2**63 + 12345, MAX_TREE_SIZE):
        root = tree_hash(n, reader)
        index = n - 1
        path = inclusion_proof(index, n, reader)
        verify_inclusion(H, index, n, path, root)
        old = tree_hash(n // 3, reader)
        verify_consistency(n // 3, n, consistency_proof(n // 3, n, reader), old, root)
        assert len(path) <= MAX_PROOF_LENGTH
        assert len(consistency_proof(3, n, reader)) <= MAX_PROOF_LENGTH
        with pytest.raises(ProofError):
            verify_inclusion(H, index, n, path, old)
    longest = consistency_proof(3, MAX_TREE_SIZE, reader)  # ⌈log2 n⌉ + 1 hashes
    assert len(longest) == MAX_PROOF_LENGTH
    root, old = tree_hash(MAX_TREE_SIZE, reader), tree_hash(3, reader)
    verify_consistency(3, MAX_TREE_SIZE, longest, old, root)


def _inclusion_ok(store: MemoryHashes) -> tuple[bytes, int, int, list[bytes], bytes]:
    n, index = 77, 40
    return (
        leaf_hash(index.to_bytes(4, "big")),
        index,
        n,
        inclusion_proof(index, n, store),
        tree_hash(n, store),
    )


def test_verify_inclusion_refuses_hostile_input(store: MemoryHashes) -> None:
    leaf, index, n, path, root = _inclusion_ok(store)
    verify_inclusion(leaf, index, n, path, root)
    verify_inclusion(bytearray(leaf), index, n, tuple(path), bytearray(root))  # type: ignore[arg-type]
    hostile: list[tuple[object, object, object, object, object]] = [
        (leaf, index, n, [*path, H], root),
        (leaf, index, n, path[:-1], root),
        (leaf, index, n, [H] * (MAX_PROOF_LENGTH + 1), root),
        (leaf, index, n, [*path[:-1], path[-1][:31]], root),
        (leaf, index, n, [*path[:-1], "x" * 32], root),
        (leaf, index, n, b"".join(path), root),
        (leaf, index, n, "abc", root),
        (leaf, index, n, None, root),
        (leaf, index, n, path, root[:31]),
        (leaf[:31], index, n, path, root),
        (leaf + b"\x00", index, n, path, root),
        (None, index, n, path, root),
        (leaf, -1, n, path, root),
        (leaf, index, -1, path, root),
        (leaf, n, n, path, root),
        (leaf, index, 0, [], EMPTY_ROOT),
        (leaf, 2**200, 2**201, path, root),
        (leaf, index, MAX_TREE_SIZE + 1, path, root),
        (leaf, 2**63 - 1, 2**63, [H] * 63, root),
        (leaf, 1.0, n, path, root),
        (leaf, index, float(n), path, root),
        (leaf, 0, 1, [H], leaf),
    ]
    for args in hostile:
        with pytest.raises(ProofError):
            verify_inclusion(*args)  # type: ignore[arg-type]


def test_verify_consistency_refuses_hostile_input(store: MemoryHashes) -> None:
    m, n = 13, 77
    path = consistency_proof(m, n, store)
    root_m, root_n = tree_hash(m, store), tree_hash(n, store)
    verify_consistency(m, n, path, root_m, root_n)
    hostile: list[tuple[object, object, object, object, object]] = [
        (m, n, [*path, H], root_m, root_n),
        (m, n, path[:-1], root_m, root_n),
        (m, n, [], root_m, root_n),
        (m, n, path, root_n, root_n),
        (m, n, path, root_m, root_m),
        (m, n, path, root_m[:31], root_n),
        (m, n, path, root_m, None),
        (m, n, [H] * (MAX_PROOF_LENGTH + 1), root_m, root_n),
        (n, m, path, root_n, root_m),
        (-1, n, path, root_m, root_n),
        (m, -1, path, root_m, root_n),
        (m, MAX_TREE_SIZE + 1, path, root_m, root_n),
        (m, n, b"".join(path), root_m, root_n),
        (n, n, [H], root_n, root_n),
        (n, n, [], root_m, root_n),
        (0, n, [], H, root_n),
        (0, n, [H], EMPTY_ROOT, root_n),
        (0, 0, [], EMPTY_ROOT, H),
        (2**63 - 1, 2**63, [H] * 65, H, H),
        (8, 16, [H] * 2, H, H),
    ]
    for args in hostile:
        with pytest.raises(ProofError):
            verify_consistency(*args)  # type: ignore[arg-type]


def test_trivial_consistency_is_accepted() -> None:
    verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)
    verify_consistency(0, 5, [], EMPTY_ROOT, H)
    verify_consistency(5, 5, (), H, bytearray(H))  # type: ignore[arg-type]


def test_hash_functions_are_domain_separated() -> None:
    assert len(EMPTY_ROOT) == HASH_SIZE
    assert leaf_hash(b"\x01" + H + H) != node_hash(H, H)
    assert leaf_hash(b"") != EMPTY_ROOT


def test_the_right_edge_refuses_what_cannot_be_appended() -> None:
    with pytest.raises(ProofError, match="wrong number"):
        Frontier(3, [bytes(32)])  # a tree of 3 has two complete subtrees
    full = Frontier(MAX_TREE_SIZE, [bytes(32)] * 64)
    with pytest.raises(UsageError, match="full"):
        full.append(bytes(32))
    edge = Frontier(0, [])
    for leaf in (b"short", "x" * 32, bytearray(32)):
        with pytest.raises(UsageError, match="32 bytes"):
            edge.append(leaf)  # type: ignore[arg-type]
    assert edge.size == 0
