"""``ecl run WORKFLOW [--input JSON | --input-file F] [--wait]``: start a workflow's run.

The input is checked by the workflow's input model before anything starts; ``--provider``,
``--model`` and ``--context-window-tokens`` go to the run config's ``resources.llm.config``. Without
``--wait`` the run is submitted to the instance's run queue (as the UI and the HTTP API do)
and its summary printed. With ``--wait``: on a deployment (a daemon dequeues runs) it is
submitted and followed to its end, its progress on stderr; on an embedded instance with no
daemon it executes in this process (``launching.execute_here``).
"""

import json
import sys
from typing import IO, Any

import click
import dagster as dg
import pydantic

from ecl_core.errors import ValidationError
from ecl_dagster.cli.common import (
    LLM_OPTIONS,
    Refused,
    format_option,
    instance,
    llm_options,
    parse_tags,
    stdout_to_stderr,
)
from ecl_dagster.cli.listing import show_summary
from ecl_dagster.cli.logs import follow, progress_line
from ecl_dagster.cli.status import exit_code, render_summary, show_detail
from ecl_dagster.cli.workflows import complete_workflow, find
from ecl_dagster.runs import launching
from ecl_dagster.runs.llm_choice import llm_choice, with_llm_choice
from ecl_dagster.runs.views import RunDetail, run_detail, run_summary
from ecl_dagster.usage.budgets import budget_tags

__all__ = ["field_errors", "follow_to_end", "run"]

def field_errors(err: pydantic.ValidationError) -> str:
    """Pydantic's errors as ``field: problem`` pairs (``topic: Field required``)."""
    return "; ".join(
        f"{'.'.join(str(part) for part in e['loc']) or '(the input)'}: {e['msg']}"
        for e in err.errors()
    )


def _given_input(text: str | None, file: IO[str] | None) -> tuple[dict[str, Any], str]:
    """The input object, and the option it came from (for an error)."""
    if text is not None and file is not None:
        raise click.UsageError("give --input or --input-file, not both")
    if text is None and file is None:
        return {}, "--input"
    option = "--input" if file is None else "--input-file"
    source = text if file is None else file.read()
    assert source is not None
    try:
        given = json.loads(source)
    except json.JSONDecodeError as err:
        raise click.BadParameter(f"not JSON: {err}", param_hint=option) from None
    if not isinstance(given, dict):
        raise click.BadParameter('give a JSON object, such as {"topic": "Tea"}',
                                 param_hint=option)
    return given, option


def follow_to_end(found: dg.DagsterInstance, run_id: str, fmt: str) -> None:
    """Follow a queued run until it ends, its step events on stderr (none when quiet)."""

    def show(entry: dg.EventLogEntry) -> None:
        line = progress_line(entry)
        if line is not None and fmt != "quiet":
            click.echo(line, err=True)

    follow(found, run_id, show)


def _show_end(detail: RunDetail, fmt: str) -> None:
    """The run's status in ``fmt``; for a person, then the summary block on stderr."""
    show_detail(detail, fmt)
    if fmt == "table":
        render_summary(detail, sys.stderr)


@click.command()
@click.argument("workflow_id", metavar="WORKFLOW", shell_complete=complete_workflow)
@click.option("--input", "input_text", metavar="JSON",
              help='The workflow\'s input as a JSON object, e.g. \'{"topic": "Tea"}\'.')
@click.option("--input-file", type=click.File("r"), metavar="FILE",
              help="A file holding the input as a JSON object ('-': stdin).")
@click.option("--wait", is_flag=True,
              help="Wait for the run's end (in this process when no daemon runs).")
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE",
              help="A run tag of your own (repeatable; not under dagster/ or ecl/).")
@click.option("--budget-tokens", metavar="N",
              help="Tokens the run's lineage may bill in all (ecl/budget_tokens).")
@click.option("--budget-usd", metavar="USD",
              help="USD the run's lineage may bill in all (ecl/budget_usd).")
@llm_options
@format_option
@click.pass_context
def run(ctx: click.Context, workflow_id: str, input_text: str | None,
        input_file: IO[str] | None, wait: bool, tags: tuple[str, ...],
        budget_tokens: str | None, budget_usd: str | None, provider: str | None,
        model: str | None, context_window_tokens: int | None, fmt: str) -> None:
    """Start a run of WORKFLOW with the given input.

    Without --wait the run is queued and its summary printed (JSON: the API's RunSummary).
    With --wait the run's status is printed at its end (JSON: RunDetail), and the exit code
    says whether it succeeded. --provider, --model and --context-window-tokens choose the
    LLM (run config resources.llm.config).
    """
    workflow = find(workflow_id)
    given, option = _given_input(input_text, input_file)
    try:
        run_config = launching.workflow_run_config(workflow, given)
    except pydantic.ValidationError as err:
        raise click.BadParameter(f"{field_errors(err)} (the input of workflow {workflow.id})",
                                 param_hint=option) from None
    except ValidationError as err:  # raised by an input model's own checks (check_brief)
        problems = "; ".join(str(detail) for detail in err.details) or str(err)
        raise click.BadParameter(f"{problems} (the input of workflow {workflow.id})",
                                 param_hint=option) from None
    run_tags = parse_tags(tags, own=True)
    try:
        run_tags.update(budget_tags(budget_tokens, budget_usd,
                                    names=("--budget-tokens", "--budget-usd")))
        run_config = with_llm_choice(run_config, llm_choice(
            provider, model, context_window_tokens, names=LLM_OPTIONS))
    except ValidationError as err:
        raise Refused(str(err)) from None
    found = instance(ctx)
    daemon = launching.daemon_running(found)
    if wait and not daemon:
        click.echo("ecl: no daemon runs for this instance: the run executes in this process",
                   err=True)
        detail = run_detail(found, launching.execute_here(found, workflow.id, run_config,
                                                          run_tags))
        _show_end(detail, fmt)
        ctx.exit(exit_code(detail))
    try:
        with stdout_to_stderr(), launching.open_workspace(found) as workspace:
            submitted = launching.submit(found, workspace, workflow.id, run_config, run_tags)
    except (dg.DagsterError, launching.JobNotLoaded) as err:  # unreachable, refused, not loaded
        raise Refused(f"cannot submit the run: {err}") from None
    if not wait:
        if not daemon:
            click.echo(f"ecl: no daemon runs for this instance: run {submitted.run_id[:8]} "
                       "waits in the queue until one does (dg dev, the local stack); "
                       "`ecl run --wait` executes a run in this process instead", err=True)
        show_summary(run_summary(found, submitted.run_id), fmt, sys.stdout)
        return
    follow_to_end(found, submitted.run_id, fmt)
    detail = run_detail(found, submitted.run_id)
    _show_end(detail, fmt)
    ctx.exit(exit_code(detail))
