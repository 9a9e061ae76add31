"""Fixtures for the CLI tests: one cheap workspace template, in-process and subprocess runners.

Every test gets a clean environment (no stray ``FORGEKEEP_*``), the test
passphrase in ``FORGEKEEP_PASSPHRASE`` and a private ``XDG_RUNTIME_DIR`` so an
unlock agent never touches the user's own.

``ws`` runs on each database the ``database`` fixture names (SQLite and
PostgreSQL), like every workspace test; the tests in :data:`SQLITE_ONLY` run on
SQLite alone.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Final

import pytest

# The harness is shared with tests/integration; make it importable from both.
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from fk_cli_harness import (  # fixtures, registered by importing them here
    _test_environment,
    base_template,
    fk,
    fk_sub,
    keep_on_sqlite,
    postgres_template,
    ws,
    xdg,
)

__all__ = [
    "_test_environment",
    "base_template",
    "fk",
    "fk_sub",
    "postgres_template",
    "ws",
    "xdg",
]

#: CLI tests that run on SQLite only. Running every CLI test on PostgreSQL as well
#: costs about twice the ~90 s budget on two cores, so these families stay on SQLite:
#:
#: * argument and input checks that refuse before or beside the database (bad names,
#:   options, dates, TTLs and roles, usage errors, missing or unreadable files): the
#:   database only journals the refusal, and refusals that reach PostgreSQL are covered
#:   by ``test_project_refusals_print_a_request_id``, ``test_not_found``,
#:   ``test_grant_refusal_names_its_request`` and
#:   ``test_a_token_acts_and_a_revoked_one_is_refused``;
#: * the unlock agent and passphrase handling (keyring and socket, not the database);
#: * round trips of content sizes, and the error paths of the entry point, which test
#:   streams and exit codes; ``test_put_and_get_through_the_entry_point`` runs a
#:   subprocess on PostgreSQL.
#:
#: Every command group keeps at least one test on PostgreSQL: projects, put, get, ls,
#: versions, rm, fsck, names at the length limits and with NUL (which PostgreSQL text
#: refuses), init, status, doctor, principals, tokens, login and profiles, licences,
#: export-auth, access, approvals and break-glass, ledger. A new CLI test runs on
#: both databases unless it is listed here.
SQLITE_ONLY: Final[dict[str, frozenset[str]]] = {
    "test_cli_assets.py": frozenset(
        {
            "test_bad_names",
            "test_bad_put_options",
            "test_bad_references",
            "test_errors_through_the_entry_point",
            "test_get_into_a_missing_directory",
            "test_get_round_trip_is_identical",
            "test_missing_input_file",
            "test_put_a_directory",
            "test_usage_errors_exit_2",
        }
    ),
    "test_cli_workspace.py": frozenset(
        {
            "test_lock_without_an_agent",
            "test_locked_keyring_without_a_terminal",
            "test_split_mode_is_a_usage_error",
            "test_unlock_rejects_a_bad_ttl",
            "test_unlock_then_lock",
            "test_unlock_with_a_wrong_passphrase_leaves_no_agent",
            "test_wrong_passphrase",
        }
    ),
    "test_approvals_cli.py": frozenset({"test_usage_errors"}),
    "test_cli_principals.py": frozenset({"test_bad_role_is_a_usage_error"}),
    "test_licences_cli.py": frozenset({"test_bad_dates_are_usage_errors"}),
    "test_tokens_cli.py": frozenset({"test_bad_create_is_refused"}),
}


@pytest.hookimpl(tryfirst=True)  # before the fixtures' own parameters are applied
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    keep_on_sqlite(metafunc, SQLITE_ONLY)
