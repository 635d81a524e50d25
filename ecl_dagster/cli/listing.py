"""``ecl list``: runs newest first, filtered by state, workflow and tags, a page at a time.

``--format json`` prints the API's ``RunPage``: pass its ``cursor`` back with ``--cursor``
for the next page. The table says so on stderr when there is a next page.
"""

import sys
from typing import TextIO

import click

from ecl_dagster.cli.common import echo_model, format_option, instance, parse_tags
from ecl_dagster.cli.status import duration_text
from ecl_dagster.runs.views import RunSummary, list_runs

__all__ = ["list_command", "show_summary", "summary_table"]

MAX_LIMIT = 100
"""At most this many runs a page, as in the HTTP API."""

_COLUMNS = ("RUN", "WORKFLOW", "STATE", "CREATED (UTC)", "DURATION", "PROVIDER", "TOKENS",
            "USD")
_WIDTHS = (8, 22, 9, 19, 12, 10, 9, 0)


def _cells(run: RunSummary) -> tuple[str, ...]:
    return (
        run.short_id, run.workflow, run.state, run.created_at[:19].replace("T", " "),
        duration_text(run.duration_s), run.provider or "-",
        "-" if run.total_tokens is None else f"{run.total_tokens:,}", run.cost_usd or "-",
    )


def summary_table(runs: list[RunSummary], out: TextIO) -> None:
    """Runs as a table: short id, workflow, state, created, duration, provider, tokens, cost."""
    for cells in [_COLUMNS, *(_cells(run) for run in runs)]:
        out.write("  ".join(c.ljust(w) for c, w in zip(cells, _WIDTHS, strict=True)).rstrip()
                  + "\n")


def show_summary(summary: RunSummary, fmt: str, out: TextIO) -> None:
    """One run: ``run ID (WORKFLOW): STATE``, the API's RunSummary as JSON, or its id."""
    if fmt == "json":
        echo_model(summary)
    elif fmt == "quiet":
        out.write(f"{summary.run_id}\n")
    else:
        out.write(f"run {summary.run_id} ({summary.workflow}): {summary.state}\n")


@click.command("list")
@click.option("--state", "states", multiple=True, metavar="STATE",
              help="Only runs in this state (repeatable): QUEUED, STARTED, SUCCESS, FAILURE, "
                   "CANCELED...")
@click.option("--workflow", metavar="WORKFLOW", help="Only this workflow's (job's) runs.")
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE",
              help="Only runs with this tag (repeatable; every one must match).")
@click.option("--limit", type=click.IntRange(1, MAX_LIMIT), default=20, show_default=True,
              help="Runs a page.")
@click.option("--cursor", metavar="CURSOR", help="The previous page's cursor: the next page.")
@format_option
@click.pass_context
def list_command(ctx: click.Context, states: tuple[str, ...], workflow: str | None,
                 tags: tuple[str, ...], limit: int, cursor: str | None, fmt: str) -> None:
    """List runs, newest first (JSON: the API's RunPage).

    A next page, when there is one, is named on stderr (table) or by the page's cursor.
    """
    found = instance(ctx)
    if cursor is not None and not found.has_run(cursor):
        raise click.BadParameter(f"{cursor!r} is not a run of this instance",
                                 param_hint="--cursor")
    try:
        page = list_runs(found, states=states, workflow=workflow, tags=parse_tags(tags),
                         limit=limit, cursor=cursor)
    except ValueError as err:
        option = "--tag" if str(err).startswith("tag:") else "--state"
        raise click.BadParameter(str(err), param_hint=option) from None
    if fmt == "json":
        echo_model(page)
        return
    if fmt == "quiet":
        for run in page.runs:
            click.echo(run.run_id)
        return
    if not page.runs:
        click.echo("no runs")
        return
    summary_table(page.runs, sys.stdout)
    if page.cursor is not None:
        click.echo(f"more: ecl list --cursor {page.cursor} ...", err=True)
