"""``ecl``: run, follow, inspect, cancel and re-execute ECL's workflows from a shell.

The ``ecl`` console script (click, Dagster's own CLI library), on the instance at
DAGSTER_HOME; one module per command::

    run.py          ecl run WORKFLOW [--input JSON | --input-file F] [--wait]
    listing.py      ecl list [--state S] [--workflow W] [--tag K=V] [--limit N] [--cursor C]
    status.py       ecl status RUN [--watch]
    logs.py         ecl logs RUN [--step S] [--follow]
    cancel.py       ecl cancel RUN
    reexecution.py  ecl reexecute RUN [--all] [--budget-tokens N] [--budget-usd X]
    workflows.py    ecl workflows list|show ID
    server.py       ecl server start|new-key
    (elsewhere)     ecl review ... (review_cli), ecl usage (usage_cli), ecl analyze (analyze)

Every command takes ``--format table|json|quiet``; JSON is the HTTP API's shapes
(``ecl_dagster.run_views``). RUN is a run id or a unique prefix of it (4 characters or more;
the UI shows 8). Shell completion is click's: ``eval "$(_ECL_COMPLETE=bash_source ecl)"``.

``reexecute`` and ``run_status`` stay importable from here (loaded on first use, PEP 562).
"""

from typing import Any

import click

from ecl_dagster.cli.common import Session
from ecl_dagster.cli.lazy import LazyGroup

__all__ = ["ecl", "main", "reexecute", "run_status"]

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
                  "List or show the workflows of workflows/ (or $ECL_WORKFLOWS_DIR)."),
    "review": ("ecl_dagster.review_cli:review",
               "List, show, answer and resume reviews by a person."),
    "usage": ("ecl_dagster.usage_cli:usage",
              "Tokens and cost of LLM calls, per workflow, provider and model."),
    "analyze": ("ecl_dagster.analyze:analyze",
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
