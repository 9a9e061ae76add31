"""Command groups that import a command's module only when that command is used.

``forgekeep --help`` and ``forgekeep --version`` must not pay for the service,
SQLAlchemy, Cedar or the web framework. So the root group knows its commands
by import path and by the one-line summary its help lists, and imports a
command's module when the command is run, asked for its help or completed.
Until then the summary stands in for it; a test checks that every summary is
the command's own.

Help is printed in Click's plain layout (``rich_markup_mode=None``): Typer's
Rich layout alone costs more start-up time than the whole CLI is allowed.
Command lists show each command's whole first paragraph, never a cut one.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
import typer.main
from typer import _click as click  # Typer's own Click: its group API is typed with it
from typer.core import TyperGroup


@dataclass(frozen=True, slots=True)
class LazyCommand:
    """A command known by ``module:attribute`` (a ``typer.Typer`` or a command function)."""

    target: str
    summary: str
    hidden: bool = False

    def load(self, name: str) -> click.Command:
        """Import the module and build the Click command, named ``name``."""
        module_name, _, attribute = self.target.partition(":")
        found = getattr(importlib.import_module(module_name), attribute)
        holder = typer.Typer(rich_markup_mode=None, add_completion=False)
        if isinstance(found, typer.Typer):
            holder.add_typer(found, name=name, hidden=self.hidden)
        else:
            holder.command(name, hidden=self.hidden)(found)
        command = typer.main.get_command(holder)
        if isinstance(command, TyperGroup):  # a Typer app comes back inside the holder
            command = command.commands[name]
        show_whole_summaries(command)
        return command


def summary_of(command: click.Command) -> str:
    """The first paragraph of the command's help, on one line."""
    if command.short_help:
        return command.short_help
    first = inspect.cleandoc(command.help or "").split("\n\n", 1)[0]
    return " ".join(first.split())


def show_whole_summaries(command: click.Command) -> None:
    """Make the command lists below ``command`` show whole first paragraphs.

    Click cuts a listed command's help at its first full stop or the line's
    end; a set ``short_help`` is shown whole (and wrapped).
    """
    command.short_help = summary_of(command)
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            show_whole_summaries(sub)


class LazyCommands(MutableMapping[str, click.Command]):
    """A group's commands: loaded ones, and lazy ones that load when looked up."""

    def __init__(self, loaded: Mapping[str, click.Command], lazy: Mapping[str, LazyCommand]):
        self._loaded = dict(loaded)
        self._lazy = lazy

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded:
            self._loaded[name] = self._lazy[name].load(name)  # KeyError: no such command
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        raise TypeError("commands are registered, not removed")

    def __contains__(self, name: object) -> bool:
        return name in self._loaded or name in self._lazy

    def __iter__(self) -> Iterator[str]:
        yield from self._lazy
        yield from (name for name in self._loaded if name not in self._lazy)

    def __len__(self) -> int:
        return len(self._lazy.keys() | self._loaded.keys())

    def listing(self, name: str) -> tuple[str, bool]:
        """``(summary, hidden)`` for the command list, without loading the command."""
        if name in self._loaded:
            command = self._loaded[name]
            return summary_of(command), command.hidden
        return self._lazy[name].summary, self._lazy[name].hidden


class LazyGroup(TyperGroup):
    """A Typer group whose commands, named in ``lazy_commands``, load on first use."""

    lazy_commands: ClassVar[Mapping[str, LazyCommand]] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._lazy = LazyCommands(self.commands, self.lazy_commands)
        self.commands = self._lazy

    def list_commands(self, ctx: click.Context) -> list[str]:  # noqa: ARG002 (Click's signature)
        return list(self.commands)  # names only: reading the values would load them all

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        listed = [(name, *self._lazy.listing(name)) for name in self.list_commands(ctx)]
        rows = [(name, summary) for name, summary, hidden in listed if not hidden]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
