"""``ecl``: run, follow, inspect, cancel and re-execute ECL's workflows from a shell.

The ``ecl`` console script (click, Dagster's own CLI library), on the instance at
DAGSTER_HOME; one module per command::

    run.py          ecl run WORKFLOW [--input JSON | --input-file F] [--wait]
    listing.py      ecl list [--state S] [--workflow W] [--tag K=V] [--limit N] [--cursor C]
    status.py       ecl status RUN [--watch]
    logs.py         ecl logs RUN [--step S] [--follow]
    cancel.py       ecl cancel RUN
    reexecution.py  ecl reexecute RUN [--all] [--budget-tokens N] [--budget-usd X]
    workflows.py    ecl workflows list|show ID|check [PATH]|new NAME
    server.py       ecl server start|new-key
    review.py       ecl review list|show|answer|resume
    usage.py        ecl usage [--since T] [--workflow W]
    analyze.py      ecl analyze PATH

Every command takes ``--format table|json|quiet``; JSON is the HTTP API's shapes
(``ecl_dagster.runs.views``). RUN is a run id or a unique prefix of it (4 characters or more;
the UI shows 8). Shell completion is click's: ``eval "$(_ECL_COMPLETE=bash_source ecl)"``.

``reexecute`` and ``run_status`` stay importable from here (loaded on first use, PEP 562).
"""

import importlib
import os
import sys
from collections.abc import Mapping
from typing import Any

import click
from click.shell_completion import CompletionItem

from ecl_core.logging import LOG_FORMAT_VARIABLE
from ecl_dagster.cli.common import Session

__all__ = ["LazyGroup", "ecl", "main", "reexecute", "run_status"]


class LazyGroup(click.Group):
    """A group of commands named ``{name: ("module:attribute", "one-line help")}``.

    Click's documented "lazily loading subcommands" pattern: ``ecl --help`` and shell
    completion of a command name import no command (so no Dagster), ``ecl status`` imports
    only ``status``.
    """

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

COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("ecl_dagster.cli.run:run", "Start a run of WORKFLOW with the given input."),
    "list": ("ecl_dagster.cli.listing:list_command",
             "List runs, newest first (JSON: the API's RunPage)."),
    "status": ("ecl_dagster.cli.status:status",
               "Show a run's state, steps, revisions, provider, tokens, duration and result."),
    "logs": ("ecl_dagster.cli.logs:logs",
             "Print a run's event log: time, step, event type or level, message."),
    "cancel": ("ecl_dagster.cli.cancel:cancel", "Cancel a queued run, or terminate a running one."),
    "reexecute": ("ecl_dagster.cli.reexecution:reexecute_command",
                  "Re-execute a run, from failure by default, and print the new run's status."),
    "workflows": ("ecl_dagster.cli.workflows:workflows",
                  "List, show, check or create the workflows of workflows/ "
                  "(or $ECL_WORKFLOWS_DIR)."),
    "review": ("ecl_dagster.cli.review:review",
               "List, show, answer and resume reviews by a person."),
    "usage": ("ecl_dagster.cli.usage:usage",
              "Tokens and cost of LLM calls, per workflow, provider and model."),
    "analyze": ("ecl_dagster.cli.analyze:analyze",
                "Analyze the codebase at PATH (a local folder) for a migration."),
    "server": ("ecl_dagster.cli.server:server", "The HTTP API: serve it, or make a key for it."),
}
"""Every command: where it is defined, and its one-line help (the command's own, which
``ecl --help`` shows without importing it; a test checks they match)."""

EXIT_CODES = """\b
Exit codes:
  0  success (for a run: it succeeded, or it awaits a review)
  1  the run did not succeed (FAILURE, CANCELED, or still going)
  2  usage error: a bad option or input, an unknown run or workflow, a run that cannot be
     cancelled or re-executed

\b
RUN is a run id or a unique prefix of it (4 characters or more; the UI shows 8).
Shell completion (bash; zsh and fish alike): eval "$(_ECL_COMPLETE=bash_source ecl)"
"""


@click.group(
    cls=LazyGroup, lazy_commands=COMMANDS, epilog=EXIT_CODES,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="ecl", prog_name="ecl")
@click.pass_context
def ecl(ctx: click.Context) -> None:
    """ECL's durable LLM workflows, on the Dagster instance at DAGSTER_HOME."""
    if sys.stderr.isatty():  # human lines and progress bars, also inside a run's steps
        os.environ.setdefault(LOG_FORMAT_VARIABLE, "console")
    ctx.obj = Session()
    ctx.call_on_close(ctx.obj.close)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ecl`` console script; returns the exit code.

    Args:
        argv: The arguments after ``ecl``; ``sys.argv[1:]`` when None.
    """
    try:
        ecl.main(args=argv, prog_name="ecl")
    except SystemExit as done:  # click's standalone mode ends every invocation with it
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    return 0


def __getattr__(name: str) -> Any:
    if name == "reexecute":
        from ecl_dagster.cli.reexecution import reexecute

        return reexecute
    if name == "run_status":
        from ecl_dagster.cli.status import run_status

        return run_status
    raise AttributeError(f"module 'ecl_dagster.cli' has no attribute {name!r}")
