"""The log's side of c2sp.org/tlog-witness@v1.0.0: submit a checkpoint, get a cosignature.

:func:`submit` sends ``old <size>``, the consistency proof and the signed note
to ``<url>/add-checkpoint`` over HTTPS (verified by a CA bundle given as a file or
as PEM text) and reads the answer:

* 200: the cosignature lines (only those by ``witness_key``, each verified,
  when a key is given);
* 409 with a size other than ``old_size`` (and not above the checkpoint's):
  that size is returned, so the caller can retry with a proof from it;
* 409 with ``old_size`` itself: the witness holds a checkpoint of that size
  with another root; 409 with a size above the checkpoint's: the witness has
  cosigned a larger tree, so this log was rolled back; 422: the proof does not
  verify. All three are :class:`ForkError`: evidence that two views of the
  log exist;
* 404 / 403: :class:`ConfigError` (the witness does not know or trust this log);
  400: :class:`CheckpointError`; anything else, or no answer: :class:`ConfigError`.

Security rules:

* TLS only, verified against the named CA bundle alone (no system trust
  store), TLS 1.2 at least, no redirects followed.
* The response is read up to ``MAX_WITNESS_RESPONSE_BYTES`` and parsed strictly;
  cosignatures by keys other than the expected witness key are ignored, and a
  cosignature by it that fails to verify is :class:`CheckpointError`.
"""

from __future__ import annotations

import base64
import re
import ssl
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from forgekeep import limits
from forgekeep.errors import CheckpointError, ConfigError, ForkError, UsageError
from forgekeep.ledger.checkpoint import Checkpoint, verify_cosignature
from forgekeep.ledger.cosigner_keys import CosignerVerifierKey
from forgekeep.ledger.note import parse_note

_SIZE_RE: Final = re.compile(r"(0|[1-9][0-9]{0,18})\n")
_HINT: Final = "check the witness URL and CA bundle (`forgekeep ledger witnesses ls`)"


def request_body(old_size: int, consistency_proof: Sequence[bytes], note: bytes) -> bytes:
    """The ``add-checkpoint`` body: old size line, proof lines, empty line, note."""
    if isinstance(old_size, bool) or not isinstance(old_size, int) or old_size < 0:
        raise UsageError("the old size is an integer of at least 0")
    if len(consistency_proof) > limits.MAX_WITNESS_PROOF_LINES:
        raise UsageError(f"a witness takes at most {limits.MAX_WITNESS_PROOF_LINES} proof lines")
    lines = [f"old {old_size}\n"]
    lines += [base64.b64encode(item).decode("ascii") + "\n" for item in consistency_proof]
    return "".join(lines).encode("ascii") + b"\n" + note


def _tls(cacert: Path | str) -> ssl.SSLContext:
    """TLS verified by ``cacert`` alone: a bundle file, or the PEM text itself."""
    try:
        if isinstance(cacert, Path):
            context = ssl.create_default_context(cafile=str(cacert))
        else:
            context = ssl.create_default_context(cadata=cacert)
    except (OSError, ssl.SSLError, ValueError) as exc:
        where = cacert if isinstance(cacert, Path) else "(PEM)"
        raise ConfigError(f"cannot load the witness CA bundle {where}", hint=_HINT) from exc
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _post(url: str, cacert: Path | str, body: bytes, timeout: float) -> tuple[int, str, bytes]:
    if not url.startswith("https://"):
        raise UsageError(f"a witness URL is https://…, not {url!r}")
    target = url.rstrip("/") + "/add-checkpoint"
    import httpx  # noqa: PLC0415 (the HTTP client only when a witness is asked: opening stays fast)

    try:
        with (
            httpx.Client(verify=_tls(cacert), timeout=timeout, follow_redirects=False) as client,
            client.stream("POST", target, content=body) as response,
        ):
            data = b""
            for chunk in response.iter_bytes():
                data += chunk
                if len(data) > limits.MAX_WITNESS_RESPONSE_BYTES:
                    raise CheckpointError(f"the witness at {url} sent an oversized answer")
            return response.status_code, response.headers.get("content-type", ""), data
    except httpx.HTTPError as exc:
        raise ConfigError(
            f"cannot reach the witness at {url}: {type(exc).__name__}", hint=_HINT
        ) from exc


def _cosignatures(
    data: bytes, body: bytes, witness_key: CosignerVerifierKey | None, url: str
) -> list[str]:
    try:
        text = data.decode("utf-8")
        parsed = parse_note(b"x\n\n" + data).signatures
    except (UnicodeDecodeError, CheckpointError):
        raise CheckpointError(f"the witness at {url} sent malformed cosignatures") from None
    lines = text.splitlines(keepends=True)
    if witness_key is None:
        return lines
    mine = [
        line
        for line, sig in zip(lines, parsed, strict=True)
        if (sig.name, sig.key_hash) == (witness_key.name, witness_key.key_hash)
    ]
    for line in mine:
        verify_cosignature(body, line, witness_key)
    if not mine:
        raise CheckpointError(f"the witness at {url} sent no cosignature by {witness_key.key_id}")
    return mine


def _conflict(content_type: str, data: bytes, old_size: int, size: int, url: str) -> int:
    match = _SIZE_RE.fullmatch(data.decode("ascii", "replace"))
    if not content_type.startswith("text/x.tlog.size") or match is None:
        raise CheckpointError(f"the witness at {url} sent a malformed 409 answer")
    theirs = int(match.group(1))
    if theirs == old_size:
        raise ForkError(
            f"the witness at {url} holds another checkpoint of size {theirs}: the log forked"
        )
    if theirs > size:
        raise ForkError(
            f"the witness at {url} cosigned size {theirs}, above this log's {size}:"
            " the log was rolled back"
        )
    return theirs


def submit(
    url: str,
    cacert: Path | str,
    old_size: int,
    consistency_proof: Sequence[bytes],
    note: bytes,
    *,
    witness_key: CosignerVerifierKey | None = None,
    timeout: float = 10.0,
) -> list[str] | int:
    """Cosignature lines for ``note``, or the witness's size to retry from (see module)."""
    checkpoint = Checkpoint.from_body(parse_note(note).text)
    body = parse_note(note).text.encode("utf-8")
    status, content_type, data = _post(
        url, cacert, request_body(old_size, consistency_proof, note), timeout
    )
    if status == 200:
        return _cosignatures(data, body, witness_key, url)
    if status == 409:
        return _conflict(content_type, data, old_size, checkpoint.size, url)
    if status == 422:
        raise ForkError(
            f"the witness at {url} rejected the consistency proof from size {old_size}"
            f" to {checkpoint.size}: it holds a checkpoint this log does not extend"
        )
    if status in (403, 404):
        what = "does not know" if status == 404 else "does not trust the key of"
        raise ConfigError(
            f"the witness at {url} {what} log {checkpoint.origin!r}",
            hint="ask its operator to run `forgekeep witness logs add --origin O --vkey V`",
        )
    if status == 400:
        raise CheckpointError(f"the witness at {url} refused the request as malformed")
    raise ConfigError(f"the witness at {url} answered HTTP {status}", hint=_HINT)
