"""``python -m forgekeep`` runs the CLI."""

from forgekeep.cli.main import run

run()
