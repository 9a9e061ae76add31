"""Every command's help is complete, and help and --version start without the heavy stack.

``forgekeep --help`` lists commands from the summaries in ``cli/main.py`` without
importing them (``cli/_lazy.py``); these tests keep those summaries, and the
service constants that help texts spell out, in step with the commands.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import typer.core
import typer.main
from fk_cli_harness import InProcess
from typer import _click as click

from forgekeep import __version__
from forgekeep.cli import access, licences, witness
from forgekeep.cli._lazy import summary_of
from forgekeep.cli.main import COMMANDS, app
from forgekeep.service.access.explain import ASSET_VERBS
from forgekeep.service.access.export_auths import EXPORT_KINDS
from forgekeep.service.access.licences import LICENCE_ACTIONS
from forgekeep.witness.state import CONFIG_NAME

#: Never imported to print help: the database, Cedar, the web framework, the HTTP client.
NEVER_FOR_HELP = (
    "sqlalchemy", "alembic", "cedarpy", "fastapi", "starlette", "uvicorn", "httpx",
    "forgekeep.service", "forgekeep.db", "forgekeep.policy", "forgekeep.runner",
)  # fmt: skip
#: Nor, for `forgekeep --help` and `--version`, the rest of what commands use.
NEVER_AT_START = (
    *NEVER_FOR_HELP, "pydantic", "pydantic_settings", "cryptography", "rich", "structlog",
    "typer.rich_utils", "forgekeep.config", "forgekeep.crypto", "forgekeep.cli._common",
)  # fmt: skip


def _command_paths() -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []

    def walk(command: click.Command, path: tuple[str, ...]) -> None:
        found.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return found


PATHS = _command_paths()


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "forgekeep")
def test_every_help_exits_0_and_lists_every_option(fk: InProcess, path: tuple[str, ...]) -> None:
    text = fk(*path, "--help").ok().out
    root = typer.main.get_command(app)
    command = root
    context = click.Context(root, info_name="forgekeep")
    for name in path:
        assert isinstance(command, typer.core.TyperGroup)
        command = command.commands[name]
        context = click.Context(command, parent=context, info_name=name)
    usage = text.splitlines()[0]  # the program name is the test runner's in-process
    assert usage.startswith("Usage: ")
    assert " ".join(path) in usage
    for param in command.get_params(context):
        if isinstance(param, typer.core.TyperOption) and not param.hidden:
            assert max(param.opts, key=len) in text, f"{param.name} missing from\n{text}"
    assert " ".join(summary_of(command).split()[:4]) in " ".join(text.split())


def test_the_root_help_lists_each_command_with_its_own_summary() -> None:
    for name, lazy in COMMANDS.items():
        loaded = lazy.load(name)
        assert (lazy.summary, lazy.hidden) == (summary_of(loaded), loaded.hidden), name


def test_group_listings_show_whole_summaries(fk: InProcess) -> None:
    text = " ".join(fk("approvals", "--help").ok().out.split())
    # Click alone would cut this one at the first full stop.
    assert "Reject a request, signed with your registered key; one rejection is final." in text
    top = " ".join(fk("--help").ok().out.split())
    assert "Once approved, the requester runs the action." in top


def test_help_texts_name_the_service_constants() -> None:
    assert access.ASSET_VERBS == ASSET_VERBS
    assert licences.LICENCE_ACTIONS == LICENCE_ACTIONS
    assert licences.EXPORT_KINDS == EXPORT_KINDS
    assert witness.CONFIG_NAME == CONFIG_NAME


def test_version(fk: InProcess) -> None:
    assert fk("--version").ok().out == f"forgekeep {__version__}\n"


def test_a_mistyped_command_is_a_usage_error_with_a_suggestion(fk: InProcess) -> None:
    result = fk("leger", "ls")
    assert result.code == 2
    assert "'ledger'" in result.stderr


def test_completion_offers_lazy_commands() -> None:
    root = typer.main.get_command(app)
    context = click.Context(root, info_name="forgekeep", resilient_parsing=True)
    offered = [item.value for item in root.shell_complete(context, "li")]
    assert offered == ["licences"]  # `licenses` is a hidden alias


# --- what starting up imports (fresh interpreters) ------------------------------------------

_RUN_THEN_LIST_MODULES = textwrap.dedent(
    """
    import json, sys
    from forgekeep.cli.main import run
    codes = []
    for argv in json.loads(sys.argv[1]):
        try:
            run(argv)
        except SystemExit as exc:
            codes.append(exc.code)
    print(json.dumps({"codes": codes, "modules": sorted(sys.modules)}), file=sys.stderr)
    """
)


def _imports_of(*argvs: list[str]) -> tuple[list[object], set[str]]:
    """Run each argv through the entry point in one fresh interpreter; its exit codes and
    every module it imported."""
    done = subprocess.run(
        [sys.executable, "-c", _RUN_THEN_LIST_MODULES, json.dumps(argvs)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["codes"], set(report["modules"])


def _heavy(modules: set[str], banned: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == b or m.startswith(b + ".") for b in banned))


@pytest.mark.subprocess
@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_import_nothing_heavy(flag: str) -> None:
    codes, modules = _imports_of([flag])
    assert codes == [0]
    assert _heavy(modules, NEVER_AT_START) == []
    loaded_cli = {m for m in modules if m.startswith("forgekeep.cli.")}
    assert loaded_cli == {"forgekeep.cli.main", "forgekeep.cli._lazy"}


@pytest.mark.subprocess
def test_a_groups_help_imports_that_group_only() -> None:
    codes, modules = _imports_of(["ledger", "--help"])
    assert codes == [0]
    assert "forgekeep.cli.ledger" in modules
    assert {"forgekeep.cli.witness", "forgekeep.cli.policy"}.isdisjoint(modules)
    assert _heavy(modules, (*NEVER_FOR_HELP, "cryptography")) == []


@pytest.mark.subprocess
def test_no_help_imports_the_database_cedar_or_the_web_framework() -> None:
    codes, modules = _imports_of(*([*path, "--help"] for path in PATHS))
    assert codes == [0] * len(PATHS)
    assert _heavy(modules, NEVER_FOR_HELP) == []


@pytest.mark.subprocess
def test_ls_imports_no_web_framework_http_client_or_migrations(ws: Path) -> None:
    codes, modules = _imports_of(["--workspace", str(ws), "ls"])
    assert codes == [0]
    assert "sqlalchemy" in modules  # it did open the workspace
    banned = ("fastapi", "starlette", "uvicorn", "httpx", "alembic", "forgekeep.runner")
    assert _heavy(modules, banned) == []


@pytest.mark.parametrize("path", [(), ("ledger",), ("ledger", "witnesses")], ids=str)
def test_a_group_alone_prints_its_help_as_a_usage_error(
    fk: InProcess, path: tuple[str, ...]
) -> None:
    result = fk(*path)
    assert result.code == 2
    assert result.out == ""
    assert result.stderr.startswith("Usage: ")
    assert "Commands:" in result.stderr
