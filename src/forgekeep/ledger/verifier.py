"""The one verifier of a log, live or exported, and the one report it gives.

Security rules:

* Nothing is trusted that was not rebuilt or verified here: the tree is
  rebuilt from the entries; a checkpoint counts only when its signature
  verifies under the key the caller supplies and its root matches the rebuilt
  tree (:func:`audit.check_checkpoint`).
* A structural break (an entry that does not hash to its stored hash, a
  checkpoint the log contradicts, a fork) raises, as before: the log cannot be
  trusted at all. Problems that leave the tree itself sound are *findings*
  (``ledger verify`` exits 4): a derived column of ``events`` that differs from
  its entry, an entry that is not a valid entry, a broken tail, and entries
  that no signed checkpoint covers although they are older than the allowed lag.
* Uncovered entries are reported with their index range and time span
  whatever their age; an honest log signs a checkpoint when each command ends
  (embedded) or every second (hosts), so older uncovered entries mean a process
  died before signing, or later checkpoints were deleted after the tail was
  rewritten. Entry times can be rewritten too, so this is a tripwire; the
  defence against a rewritten tail is a witness quorum (docs/threat-model.md).
"""

from __future__ import annotations

import array
import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from forgekeep.crypto.signed import VerifierKey
from forgekeep.errors import ProofError
from forgekeep.ledger import audit, merkle
from forgekeep.ledger.entry import column_mismatches, parse_entry
from forgekeep.limits import MAX_LISTED_FINDINGS, MAX_NOTE_BYTES


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem ``ledger verify`` found (exit 4); ``index`` and ``column`` where known."""

    kind: str  # column-mismatch | bad-entry | broken-tail | uncovered-too-long | future-entry
    message: str
    index: int | None = None
    column: str | None = None


@dataclass(frozen=True, slots=True)
class Uncovered:
    """Entries ``first`` to ``last`` that no verified checkpoint covers, and their times."""

    first: int
    last: int
    oldest: dt.datetime | None
    newest: dt.datetime | None


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What ``ledger verify`` found, for a workspace's live log or an export."""

    source: str  # "workspace" or "export"
    size: int
    root: bytes
    checkpoints: int
    covered_size: int
    trusted_size: int | None
    mirrored_size: int | None
    cosigned_by: tuple[str, ...]
    uncovered: Uncovered | None
    findings: tuple[Finding, ...]
    omitted_findings: int = 0
    journaled: bool = True  # False only when the log could not take verify's own event

    @property
    def ok(self) -> bool:
        return not self.findings


class LogVerifier:
    """Feed it the entries in order, then the checkpoints; it builds the report."""

    def __init__(self, *, now: dt.datetime, max_uncovered: dt.timedelta | None) -> None:
        """``max_uncovered`` is the allowed lag; ``None`` allows no uncovered entry at all."""
        self.tree = merkle.MemoryHashes()
        self.present = 0  # entries fed (the rest, if any, known only by hash)
        self._now = now
        self._max_uncovered = max_uncovered
        self._times = array.array("d")  # POSIX seconds per entry; NaN when unreadable
        self._findings: list[Finding] = []
        self._omitted = 0
        self._covered = 0
        self.checked = 0

    def add(self, data: bytes, row: Mapping[str, object] | None = None) -> None:
        """The next entry; ``row`` holds its derived ``events`` columns, if live."""
        index = self.tree.append(data)
        self.present = index + 1
        try:
            entry = parse_entry(data)
        except ProofError as exc:
            self._times.append(math.nan)
            self.find(Finding("bad-entry", f"entry {index}: {exc.message}", index))
            return
        self._times.append(entry.at.timestamp())
        if row is not None:
            for column in column_mismatches(entry, index, row):
                self.find(
                    Finding(
                        "column-mismatch",
                        f"entry {index}: column {column} differs from the entry",
                        index,
                        column,
                    )
                )

    def add_missing(self, leaf: bytes) -> None:
        """The next entry, whose row is gone but whose stored leaf hash remains."""
        self.tree.append_leaf(leaf)

    def find(self, finding: Finding) -> None:
        if len(self._findings) < MAX_LISTED_FINDINGS:
            self._findings.append(finding)
        else:
            self._omitted += 1

    def checkpoint(self, note: bytes, key: VerifierKey, *, stored: bool = True) -> int:
        """Check a signed checkpoint against the rebuilt tree; it then counts as covering.

        ``stored`` counts it among the log's own checkpoints (not a trusted one)."""
        size = audit.check_checkpoint(self.tree, note, key)
        self._covered = max(self._covered, size)
        self.checked += stored
        return size

    def covers(self, size: int) -> None:
        """A checkpoint of ``size`` the caller has verified against :attr:`tree`."""
        self._covered = max(self._covered, size)

    def _uncovered(self) -> Uncovered | None:
        last = self.present - 1
        if self._covered > last:
            return None
        first = self._covered
        known = [t for t in self._times[first:] if not math.isnan(t)]
        if not known:
            return Uncovered(first, last, None, None)
        oldest, newest = (dt.datetime.fromtimestamp(t, dt.UTC) for t in (min(known), max(known)))
        uncovered = Uncovered(first, last, oldest, newest)
        lag = self._max_uncovered
        if lag is None or oldest < self._now - lag:
            allowed = "none" if lag is None else f"{int(lag.total_seconds())} s"
            self.find(
                Finding(
                    "uncovered-too-long",
                    f"entries {first} to {last} are covered by no signed checkpoint, the"
                    f" oldest since {oldest.isoformat()} (allowed: {allowed})",
                    first,
                )
            )
        if lag is not None and newest > self._now + lag:
            self.find(
                Finding("future-entry", f"uncovered entries are dated {newest.isoformat()}", last)
            )
        return uncovered

    def report(
        self,
        *,
        source: str,
        trusted_size: int | None,
        mirrored_size: int | None,
        cosigned_by: tuple[str, ...],
        extra: tuple[Finding, ...] = (),
    ) -> VerifyReport:
        for finding in extra:
            self.find(finding)
        uncovered = self._uncovered()
        return VerifyReport(
            source=source,
            size=self.tree.size,
            root=merkle.tree_hash(self.tree.size, self.tree),
            checkpoints=self.checked,
            covered_size=self._covered,
            trusted_size=trusted_size,
            mirrored_size=mirrored_size,
            cosigned_by=cosigned_by,
            uncovered=uncovered,
            findings=tuple(self._findings),
            omitted_findings=self._omitted,
        )


def verify_export(
    directory: Path,
    key: VerifierKey,
    trusted: bytes | None = None,
    witnesses: audit.WitnessPolicy | None = None,
    *,
    now: dt.datetime,
) -> VerifyReport:
    """Rebuild an export's tree, check its checkpoint and, if given, a trusted one.

    An export's checkpoint covers every entry it holds, so any uncovered entry
    in an export is a finding, whatever its age. ``witnesses`` applies to the
    trusted checkpoint if there is one, else to the export's own.
    """
    checker = LogVerifier(now=now, max_uncovered=None)
    for entry in audit.export_entries(directory):
        checker.add(entry)
    note = audit.read_bounded(directory / audit.CHECKPOINT_FILE, MAX_NOTE_BYTES)
    checker.checkpoint(note, key)
    trusted_size = None if trusted is None else checker.checkpoint(trusted, key, stored=False)
    cosigned = (witnesses or audit.WitnessPolicy()).cosigners(trusted or note, key)
    return checker.report(
        source="export", trusted_size=trusted_size, mirrored_size=None, cosigned_by=tuple(cosigned)
    )
