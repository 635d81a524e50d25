"""``ecl cancel RUN``: cancel a queued run, or terminate a running one (the UI's Terminate).

Through the instance's run coordinator (``launching.cancel``): a queued run becomes
CANCELED at once, a running one CANCELING until its worker stops. A run that has ended is
refused with its state (exit 2).
"""

import sys

import click

from ecl_dagster.cli.common import RUN, Refused, format_option, instance
from ecl_dagster.cli.listing import show_summary
from ecl_dagster.runs import launching
from ecl_dagster.runs.views import run_summary

__all__ = ["cancel"]


@click.command()
@click.argument("run_id", metavar="RUN", type=RUN)
@format_option
@click.pass_context
def cancel(ctx: click.Context, run_id: str, fmt: str) -> None:
    """Cancel a queued run, or terminate a running one.

    Prints the run after the request (JSON: the API's RunSummary). Exits 2 when the run has
    ended already.
    """
    found = instance(ctx)
    run = found.get_run_by_id(run_id)
    assert run is not None  # resolved by RUN
    try:
        accepted = launching.cancel(found, run)
    except launching.NotCancelable as err:
        raise Refused(f"cannot cancel: {err}") from None
    if not accepted:
        raise Refused(f"cannot cancel {run_id}: the run coordinator refused it "
                      f"({run.status.value})")
    show_summary(run_summary(found, run_id), fmt, sys.stdout)
