"""How ``ledger verify`` shows its report: JSON for machines, lines for people."""

from __future__ import annotations

import base64
import dataclasses

from forgekeep.cli._common import stdout
from forgekeep.ledger.verifier import VerifyReport


def report_json(report: VerifyReport) -> dict[str, object]:
    data = dataclasses.asdict(report)
    data["root"] = base64.b64encode(report.root).decode()
    data["ok"] = report.ok
    return data


def print_report(report: VerifyReport, quorum: int | None) -> None:
    def say(line: str) -> None:
        stdout.print(line, highlight=False, markup=False)

    root = base64.b64encode(report.root).decode()
    say(f"{'ok' if report.ok else 'FINDINGS'}: {report.size} entries, root {root}")
    say(f"    {report.checkpoints} signed checkpoint(s) match")
    if report.mirrored_size is not None:
        say(
            "    matches the checkpoints and tiles mirrored on the site (newest at size"
            f" {report.mirrored_size})"
        )
    if report.trusted_size is not None:
        say(f"    consistent with the trusted checkpoint at size {report.trusted_size}")
    if quorum is not None:
        say(f"    cosigned by {', '.join(report.cosigned_by) or 'none'} (quorum {quorum})")
    gap = report.uncovered
    if gap is not None:
        span = (
            ""
            if gap.oldest is None or gap.newest is None
            else (f", {gap.oldest.isoformat()} to {gap.newest.isoformat()}")
        )
        say(f"    uncovered: entries {gap.first} to {gap.last}{span}")
    for finding in report.findings:
        say(f"{finding.kind}: {finding.message}")
    if report.omitted_findings:
        say(f"… and {report.omitted_findings} more finding(s)")
    if not report.journaled:
        say("note: this verify could not be journaled: the log takes no entry until repaired")
