"""``forgekeep policy validate|test|diff|apply|show``: check and apply Cedar policies.

``validate``, ``test`` and ``diff`` need no workspace: they read the files named
on the command line and the schema and baseline shipped with Forgekeep.
``apply`` and ``show`` act on the workspace; applying needs one approval by
someone other than the requester. Files are bounded
(:data:`MAX_POLICY_FILE_BYTES`) and read as UTF-8 text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final

import typer

from forgekeep.cli._common import JsonOpt, emit_json, info, read_bounded, stdout, vault, wants_json
from forgekeep.errors import (
    EXIT_FINDINGS,
    ConfigError,
    FormatError,
    UsageError,
)
from forgekeep.limits import MAX_CASE_FILE_BYTES, MAX_POLICY_FILE_BYTES

if TYPE_CHECKING:
    from forgekeep.policy.lint import Problem

# Cedar (through forgekeep.policy) is imported by the functions that check policies, not here.

#: The largest policy file accepted.
BASELINE: Final = "(baseline)"
_DOCS_HINT: Final = "see docs/policy.md"

app = typer.Typer(
    help=(
        "Cedar access policies: validate files against the schema, run decision test "
        "cases, and compare two policy files. These commands need no workspace."
    ),
    no_args_is_help=True,
)

FilesArg = Annotated[
    list[Path], typer.Argument(help="Cedar policy files (.cedar).", show_default=False)
]


def _read_policies(path: Path) -> str:
    data = read_bounded(path, MAX_POLICY_FILE_BYTES, "policy file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError(f"policy file {path} is not UTF-8 text", hint=_DOCS_HINT) from None


def _checked_sources(
    files: Sequence[Path], *, with_baseline: bool
) -> tuple[list[tuple[str, str]], list[Problem], int]:
    from forgekeep.policy import baseline_text
    from forgekeep.policy.engine import parsed_schema
    from forgekeep.policy.lint import check_files

    sources = [(BASELINE, baseline_text())] if with_baseline else []
    sources += [(str(path), _read_policies(path)) for path in files]
    problems, count = check_files(sources, parsed_schema())
    return sources, problems, count


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _problems_error(problems: Sequence[Problem], where: str) -> ConfigError:
    files = len({p.file for p in problems})
    return ConfigError(
        f"{_plural(len(problems), 'problem')} in {_plural(files, 'file')}",
        hint=f"fix the policies listed {where} and run `forgekeep policy validate` again",
    )


def _report_problems(problems: Sequence[Problem]) -> None:
    for problem in problems:
        stdout.print(str(problem), highlight=False, markup=False)
    raise _problems_error(problems, "above")


@app.command()
def validate(
    ctx: typer.Context,
    files: FilesArg,
    with_baseline: Annotated[
        bool,
        typer.Option(
            "--with-baseline",
            help="Check the files together with the shipped baseline (no @id may collide).",
        ),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Validate Cedar policy files against Forgekeep's schema.

    Prints each problem as FILE:LINE:COL: POLICY-ID: MESSAGE and exits 1 when
    there is any. The files are checked as one set: every policy needs a
    unique @id, and every forbid a @reason code.
    """
    _, problems, count = _checked_sources(files, with_baseline=with_baseline)
    if wants_json(ctx, json_out):
        emit_json(
            {
                "ok": not problems,
                "files": [str(f) for f in files],
                "with_baseline": with_baseline,
                "policies": count,
                "problems": problems,
            }
        )
        if problems:
            raise _problems_error(problems, "in the JSON output")
        return
    if problems:
        _report_problems(problems)
    extra = " (with the baseline)" if with_baseline else ""
    stdout.print(f"ok: {count} policies in {_plural(len(files), 'file')}{extra}", highlight=False)


@app.command("test")
def run_tests(
    ctx: typer.Context,
    cases_file: Annotated[
        Path,
        typer.Argument(metavar="CASES.json", help="Decision test cases (see docs/policy.md)."),
    ],
    policies: Annotated[
        list[Path] | None,
        typer.Option(
            "--policies",
            metavar="FILE",
            help="Extra policy file to load with the baseline (repeat for more).",
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Run decision test cases against the baseline policies (plus --policies files).

    Prints PASS or FAIL for each case; exits 4 when any case fails.
    """
    from forgekeep.policy import PolicyEngine
    from forgekeep.policy.testing import load_cases, run_cases

    extra = list(policies or [])
    sources, problems, _ = _checked_sources(extra, with_baseline=True)
    if problems:
        _report_problems(problems)
    casefile = load_cases(read_bounded(cases_file, MAX_CASE_FILE_BYTES, "case file"))
    engine = PolicyEngine("\n".join(text for _, text in sources))
    results = run_cases(engine, casefile)
    failed = [r for r in results if not r.passed]
    if wants_json(ctx, json_out):
        emit_json({"passed": len(results) - len(failed), "failed": len(failed), "cases": results})
    else:
        for result in results:
            verdict = "PASS" if result.passed else "FAIL"
            stdout.print(f"{verdict} {result.name}", highlight=False, markup=False)
            for problem in result.problems:
                stdout.print(f"     {problem}", highlight=False, markup=False)
        info(ctx, f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise typer.Exit(EXIT_FINDINGS)


def _by_id(path: Path) -> dict[str, str]:
    """``@id`` → the normalised JSON of that policy (annotations included)."""
    from forgekeep.policy.lint import located_policies

    text = _read_policies(path)
    try:
        located = located_policies(text)
    except ValueError as exc:
        raise ConfigError(
            f"{path} does not parse: {str(exc).splitlines()[0]}",
            hint=f"run `forgekeep policy validate {path}`",
        ) from None
    found: dict[str, str] = {}
    for number, policy in enumerate(located):
        key = policy.id if policy.id is not None else f"(no @id #{number + 1})"
        if key in found:
            raise ConfigError(
                f"{path} has the @id {key!r} twice", hint=f"run `forgekeep policy validate {path}`"
            )
        found[key] = json.dumps(policy.body, sort_keys=True, separators=(",", ":"))
    return found


@app.command()
def diff(
    ctx: typer.Context,
    old: Annotated[Path, typer.Argument(help="The policy file as it was.")],
    new: Annotated[Path, typer.Argument(help="The policy file as it will be.")],
    json_out: JsonOpt = False,
) -> None:
    """List policies added (+), removed (-) and changed (~) between two files, by @id.

    Whitespace, comments and order do not count. Exits 4 when they differ.
    """
    before, after = _by_id(old), _by_id(new)
    added = sorted(after.keys() - before.keys())
    removed = sorted(before.keys() - after.keys())
    changed = sorted(k for k in before.keys() & after.keys() if before[k] != after[k])
    unchanged = len(before.keys() & after.keys()) - len(changed)
    if wants_json(ctx, json_out):
        emit_json({"added": added, "removed": removed, "changed": changed, "unchanged": unchanged})
    else:
        for mark, ids in (("+", added), ("-", removed), ("~", changed)):
            for policy_id in ids:
                stdout.print(f"{mark} {policy_id}", highlight=False, markup=False)
        info(
            ctx,
            f"{len(added)} added, {len(removed)} removed, {len(changed)} changed, "
            f"{unchanged} unchanged",
        )
    if added or removed or changed:
        raise typer.Exit(EXIT_FINDINGS)


@app.command()
def apply(
    ctx: typer.Context,
    file: Annotated[
        Path | None, typer.Argument(help="Cedar policy file to request approval for.")
    ] = None,
    approval: Annotated[
        str | None,
        typer.Option(metavar="ID", help="Apply the policy set this approved request holds."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Apply a customer policy set, in two steps, with one approval in between.

    `forgekeep policy apply FILE` validates FILE and opens an approval request;
    someone else approves it (`forgekeep approvals approve ID --key KEYFILE`);
    then `forgekeep policy apply --approval ID` applies exactly that text.
    """
    if approval is not None and file is None:
        with vault(ctx) as v:
            applied = v.policy.apply(approval)
        if wants_json(ctx, json_out):
            emit_json(applied)
            return
        stdout.print(
            f"applied policy version {applied.version} ({applied.sha256})", highlight=False
        )
        return
    if file is None or approval is not None:
        raise UsageError(
            "`policy apply` takes either FILE or --approval ID",
            hint="first `policy apply FILE`, then, once approved, `policy apply --approval ID`",
        )
    text = _read_policies(file)
    with vault(ctx) as v:
        request = v.policy.request_apply(text)
    if wants_json(ctx, json_out):
        emit_json(request)
        return
    stdout.print(request.id, highlight=False, markup=False)
    info(ctx, f"needs {request.required} approval: ask an approver to run")
    info(ctx, f"  forgekeep approvals approve {request.id} --key KEYFILE")
    info(ctx, f"then run `forgekeep policy apply --approval {request.id}`")


@app.command()
def show(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Show the shipped baseline and the customer policy set in force (with its approval)."""
    with vault(ctx) as v:
        view = v.policy.show()
    if wants_json(ctx, json_out):
        emit_json(view)
        return
    stdout.print("// ---- baseline (shipped with Forgekeep) ----", highlight=False, markup=False)
    stdout.print(view.baseline, highlight=False, markup=False)
    if view.active is None:
        stdout.print("// ---- no customer policy applied ----", highlight=False, markup=False)
        return
    a = view.active
    stdout.print(
        f"// ---- customer policy version {a.version}, sha256 {a.sha256}, "
        f"approval {a.approval_id}, applied by {a.applied_by} at {a.applied_at.isoformat()} ----",
        highlight=False,
        markup=False,
    )
    stdout.print(a.text, highlight=False, markup=False)
