"""Throughput of the stream v1 batch API against raw AES-256-GCM calls.

Encrypts and decrypts SIZE bytes held in memory through StreamEncryptor /
StreamDecryptor in 1 MiB batches, and compares with AESGCM.encrypt over the
same bytes in 16 KiB and 1 MiB calls. Prints MB/s (10**6 bytes per second)
and the ratios. Run: ``.venv/bin/python bench/stream_crypto.py [--mib 1024]``.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from forgekeep.crypto.context import StreamContext
from forgekeep.crypto.decryptor import StreamDecryptor
from forgekeep.crypto.encryptor import StreamEncryptor
from forgekeep.crypto.header import StreamHeader
from forgekeep.crypto.mac import PlaintextMac, mac_key
from forgekeep.crypto.suite import CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE, Suite

MIB = 1 << 20
BATCH = 1 << 20


def best_of(runs: int, work: Callable[[], None]) -> float:
    """Shortest wall time of ``runs`` calls to ``work``."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def raw_encrypt(data: memoryview, call_size: int) -> Callable[[], None]:
    aead = AESGCM(os.urandom(32))

    def work() -> None:
        for index, at in enumerate(range(0, len(data), call_size)):
            aead.encrypt(index.to_bytes(12, "big"), data[at : at + call_size], None)

    return work


def stream_encrypt(
    data: memoryview, header: StreamHeader, context: StreamContext, dek: bytes
) -> Callable[[], None]:
    def work() -> None:
        encryptor = StreamEncryptor(dek, header, context)
        for at in range(0, len(data), BATCH):
            encryptor.encrypt_batch(data[at : at + BATCH])
        encryptor.finalize()

    return work


def stream_decrypt(blob: bytes, dek: bytes, context: StreamContext) -> Callable[[], None]:
    prefix_size = StreamHeader.peek_length(blob) + 56
    read = (BATCH // CHUNK_SIZE) * ENCRYPTED_CHUNK_SIZE
    view = memoryview(blob)

    def work() -> None:
        decryptor = StreamDecryptor(dek, context)
        decryptor.feed_prefix(view[:prefix_size])
        for at in range(prefix_size, len(view), read):
            decryptor.decrypt_batch(view[at : at + read])
        decryptor.finalize()

    return work


def encrypt_whole(
    data: memoryview, header: StreamHeader, context: StreamContext, dek: bytes
) -> bytes:
    encryptor = StreamEncryptor(dek, header, context)
    parts = [encryptor.prefix()]
    parts.extend(
        bytes(encryptor.encrypt_batch(data[at : at + BATCH])) for at in range(0, len(data), BATCH)
    )
    parts.append(encryptor.finalize())
    return b"".join(parts)


def hmac_work(data: memoryview, key: bytes) -> Callable[[], None]:
    def work() -> None:
        mac = PlaintextMac(key)
        for at in range(0, len(data), BATCH):
            mac.update(data[at : at + BATCH])
        mac.digest()

    return work


def report(name: str, size: int, seconds: float, reference: float | None) -> None:
    rate = size / seconds / 1e6
    ratio = f"  {reference / seconds:6.2f}x raw-16KiB" if reference else ""
    print(f"{name:<34} {rate:9.0f} MB/s{ratio}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mib", type=int, default=1024, help="plaintext size in MiB")
    parser.add_argument("--runs", type=int, default=3, help="repetitions (best is kept)")
    args = parser.parse_args()
    size = args.mib * MIB
    data = memoryview(os.urandom(size))
    dek = os.urandom(32)
    header = StreamHeader(Suite.COBBLESTONE_256, "ring", "domain", "dek")
    context = StreamContext("tenant", "asset", os.urandom(16))
    raw16 = best_of(args.runs, raw_encrypt(data, CHUNK_SIZE))
    raw1m = best_of(args.runs, raw_encrypt(data, MIB))
    enc = best_of(args.runs, stream_encrypt(data, header, context, dek))
    blob = encrypt_whole(data, header, context, dek)
    dec = best_of(args.runs, stream_decrypt(blob, dek, context))
    mac = best_of(args.runs, hmac_work(data, mac_key(dek, context.encode(header.hash()))))
    print(f"plaintext {args.mib} MiB, batches of {BATCH // MIB} MiB, best of {args.runs}")
    report("raw AESGCM.encrypt, 16 KiB calls", size, raw16, raw16)
    report("raw AESGCM.encrypt, 1 MiB calls", size, raw1m, raw16)
    report("StreamEncryptor.encrypt_batch", size, enc, raw16)
    report("StreamDecryptor.decrypt_batch", size, dec, raw16)
    report("PlaintextMac (HMAC-SHA-256)", size, mac, raw16)


if __name__ == "__main__":
    main()
