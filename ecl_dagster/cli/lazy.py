"""A click group whose commands are imported only when one is used.

Click's documented "lazily loading subcommands" pattern: ``ecl --help`` and shell completion
of a command name import no command (so no Dagster), ``ecl status`` imports only ``status``.
Each command's one-line help is given with its import path; a test checks that it matches
the command's own.
"""

import importlib
from collections.abc import Mapping
from typing import Any

import click
from click.shell_completion import CompletionItem

__all__ = ["LazyGroup"]


class LazyGroup(click.Group):
    """A group of commands named ``{name: ("module:attribute", "one-line help")}``."""

    def __init__(self, *args: Any, lazy_commands: Mapping[str, tuple[str, str]] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        """The lazy commands in their given order, then any added ones."""
        return [*self.lazy_commands, *sorted(set(self.commands) - set(self.lazy_commands))]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command, imported on first use."""
        if cmd_name in self.lazy_commands and cmd_name not in self.commands:
            module, attribute = self.lazy_commands[cmd_name][0].split(":")
            command = getattr(importlib.import_module(module), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{module}:{attribute} is not a click command")
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def _rows(self) -> list[tuple[str, str]]:
        eager = sorted(set(self.commands) - set(self.lazy_commands))
        return [(name, text) for name, (_, text) in self.lazy_commands.items()] + [
            (name, self.commands[name].get_short_help_str()) for name in eager
        ]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands and their one-line help, without importing them."""
        with formatter.section("Commands"):
            formatter.write_dl(self._rows())

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        """Command names (and the group's options), without importing the commands."""
        return [
            CompletionItem(name, help=text) for name, text in self._rows()
            if name.startswith(incomplete)
        ] + click.Command.shell_complete(self, ctx, incomplete)
