"""RFC 6962 reference vectors, and every small proof against a naive reading of the RFC.

The 8-leaf data set, its roots, node hashes, inclusion paths and consistency proofs are
the published test data used across Certificate Transparency implementations (the CT
C++ ``merkle_tree_test`` tables, repeated in transparency-dev/merkle ``testonly`` and
``proof/verify_test.go``). The reference functions ``mth``, ``path`` and ``proof`` below
transcribe RFC 6962 §2.1, §2.1.1 and §2.1.2 recursively, with no shared code with
:mod:`forgekeep.ledger.merkle`.
"""

from __future__ import annotations

import hashlib

import pytest

from forgekeep.errors import ProofError
from forgekeep.ledger.merkle import (
    EMPTY_ROOT,
    MemoryHashes,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    stored_hash_index,
    tree_hash,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]

# ROOTS[n] = MTH(LEAVES[:n]).
ROOTS = [
    bytes.fromhex(h)
    for h in (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]

# NODES[level][k]: hash of the complete subtree at `level` covering leaves [k·2^level, ...).
NODES = [
    [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    [
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    [
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    ["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
]

# (leaf index, tree size, PATH(index, D[0:size])), 0-based indexes.
INCLUSION = [
    (0, 1, []),
    (0, 2, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"]),
    (1, 2, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]

# (m, n, PROOF(m, D[0:n])).
CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]


# ---------------------------------------------------------------- RFC 6962 §2.1, naively


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: list[bytes]) -> bytes:
    if not d:
        return _sha(b"")
    if len(d) == 1:
        return _sha(b"\x00" + d[0])
    k = _k(len(d))
    return _sha(b"\x01" + mth(d[:k]) + mth(d[k:]))


def path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*path(m, d[:k]), mth(d[k:])]
    return [*path(m - k, d[k:]), mth(d[:k])]


def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = _k(n)
    if m <= k:
        return [*subproof(m, d[:k], b), mth(d[k:])]
    return [*subproof(m - k, d[k:], False), mth(d[:k])]


def proof(m: int, d: list[bytes]) -> list[bytes]:
    return subproof(m, d, True)


# ---------------------------------------------------------------- tests


@pytest.fixture(scope="module")
def store() -> MemoryHashes:
    hashes = MemoryHashes()
    for entry in LEAVES:
        hashes.append(entry)
    return hashes


def _hex(hashes: list[bytes]) -> list[str]:
    return [h.hex() for h in hashes]


def test_hasher_vectors() -> None:
    assert ROOTS[0] == EMPTY_ROOT
    assert leaf_hash(b"").hex() == NODES[0][0]
    assert leaf_hash(b"L123456").hex() == (
        "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    )
    assert node_hash(b"N123", b"N456").hex() == (
        "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"
    )


@pytest.mark.parametrize("n", range(9))
def test_published_roots(store: MemoryHashes, n: int) -> None:
    assert tree_hash(n, store) == ROOTS[n]
    assert mth(LEAVES[:n]) == ROOTS[n]


def test_published_node_hashes_are_stored(store: MemoryHashes) -> None:
    for level, row in enumerate(NODES):
        indexes = [stored_hash_index(level, k) for k in range(len(row))]
        assert _hex(store.read_hashes(indexes)) == row


@pytest.mark.parametrize(("index", "n", "expected"), INCLUSION)
def test_published_inclusion_proofs(
    store: MemoryHashes, index: int, n: int, expected: list[str]
) -> None:
    assert _hex(inclusion_proof(index, n, store)) == expected
    assert _hex(path(index, LEAVES[:n])) == expected
    verify_inclusion(
        leaf_hash(LEAVES[index]), index, n, [bytes.fromhex(h) for h in expected], ROOTS[n]
    )


@pytest.mark.parametrize(("m", "n", "expected"), CONSISTENCY)
def test_published_consistency_proofs(
    store: MemoryHashes, m: int, n: int, expected: list[str]
) -> None:
    assert _hex(consistency_proof(m, n, store)) == expected
    assert _hex(proof(m, LEAVES[:n])) == expected
    verify_consistency(m, n, [bytes.fromhex(h) for h in expected], ROOTS[m], ROOTS[n])


def test_every_inclusion_proof_up_to_8_matches_the_rfc(store: MemoryHashes) -> None:
    for n in range(1, 9):
        for index in range(n):
            expected = path(index, LEAVES[:n])
            assert inclusion_proof(index, n, store) == expected, (index, n)
            verify_inclusion(leaf_hash(LEAVES[index]), index, n, expected, ROOTS[n])
            for wrong in range(n):
                if wrong != index:
                    with pytest.raises(ProofError):
                        verify_inclusion(leaf_hash(LEAVES[index]), wrong, n, expected, ROOTS[n])


def test_every_consistency_proof_up_to_8_matches_the_rfc(store: MemoryHashes) -> None:
    for n in range(1, 9):
        for m in range(1, n + 1):
            expected = proof(m, LEAVES[:n])
            assert consistency_proof(m, n, store) == expected, (m, n)
            verify_consistency(m, n, expected, ROOTS[m], ROOTS[n])
            for other in range(1, n + 1):
                if other != m:
                    with pytest.raises(ProofError):
                        verify_consistency(other, n, expected, ROOTS[other], ROOTS[n])


def test_published_proofs_refused_against_the_wrong_height() -> None:
    # Only the height is bound by the path's shape: PATH(1, D[0:5]) also fits a size-6
    # tree, so a size one off is not necessarily refused. The signed root binds the size.
    for index, n, expected in INCLUSION:
        hashes = [bytes.fromhex(h) for h in expected]
        for wrong_n in {n * 2, n // 2} - {n}:
            with pytest.raises(ProofError):
                verify_inclusion(leaf_hash(LEAVES[index]), index, wrong_n, hashes, ROOTS[n])
