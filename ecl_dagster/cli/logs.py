"""``ecl logs RUN [--step S] [--follow]``: a run's event log, as lines or JSON lines.

Read from the instance's event log (``get_records_for_run`` with a cursor), so ``--follow``
prints each event once, polling until the run has ended. ``follow`` also prints the progress
of ``ecl run --wait`` and ``ecl reexecute`` on stderr.
"""

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

import click
import dagster as dg

from ecl_dagster.cli.common import RUN, format_option, instance

__all__ = ["event_document", "event_line", "follow", "logs", "progress_line"]

FOLLOW_EVERY_S = 0.5
PAGE = 1000

PROGRESS = frozenset({
    dg.DagsterEventType.RUN_ENQUEUED, dg.DagsterEventType.RUN_DEQUEUED,
    dg.DagsterEventType.RUN_STARTING, dg.DagsterEventType.RUN_START,
    dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.RUN_FAILURE,
    dg.DagsterEventType.RUN_CANCELING, dg.DagsterEventType.RUN_CANCELED,
    dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS,
    dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.STEP_SKIPPED,
    dg.DagsterEventType.STEP_UP_FOR_RETRY, dg.DagsterEventType.STEP_RESTARTED,
})
"""The events ``ecl run --wait`` shows while it follows a queued run."""


def _kind(entry: dg.EventLogEntry) -> str:
    """The event type (``STEP_SUCCESS``), or the level of a plain log message (``INFO``)."""
    if entry.dagster_event is not None:
        return entry.dagster_event.event_type.name  # RUN_START, not its value PIPELINE_START
    return logging.getLevelName(entry.level)


def event_document(entry: dg.EventLogEntry) -> dict[str, object]:
    """One event as a JSON object: ``--format json`` prints one per line."""
    return {
        "timestamp": datetime.fromtimestamp(entry.timestamp, UTC).isoformat(
            timespec="milliseconds"),
        "run_id": entry.run_id,
        "step_key": entry.step_key,
        "level": logging.getLevelName(entry.level),
        "event_type": None if entry.dagster_event is None
        else entry.dagster_event.event_type.name,
        "message": entry.message,
    }


def event_line(entry: dg.EventLogEntry) -> str:
    """One event for a person: local time, step, event type or level, message."""
    moment = datetime.fromtimestamp(entry.timestamp)
    clock = moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
    message = entry.message.strip().replace("\n", "\n" + " " * 14)
    return f"{clock}  {entry.step_key or '-':<28} {_kind(entry):<22} {message}"


def progress_line(entry: dg.EventLogEntry) -> str | None:
    """A line of ``ecl run --wait``'s progress, or None for an event it does not show."""
    event = entry.dagster_event
    if event is None or event.event_type not in PROGRESS:
        return None
    return event_line(entry)


def step_matches(entry: dg.EventLogEntry, step: str | None) -> bool:
    """Whether ``entry`` is of step ``step`` (or one of its mapped copies: ``step[key]``)."""
    if step is None:
        return True
    key = entry.step_key
    return key is not None and (key == step or key.startswith(f"{step}["))


def follow(
    found: dg.DagsterInstance,
    run_id: str,
    show: Callable[[dg.EventLogEntry], None],
    until_end: bool = True,
    every_s: float = FOLLOW_EVERY_S,
) -> dg.DagsterRun:
    """Pass each of the run's events to ``show``, in order; return the run as last read.

    With ``until_end``, poll every ``every_s`` for new events until the run has ended.
    """
    cursor: str | None = None
    while True:
        run = found.get_run_by_id(run_id)  # read before the events: an ended run's are written
        assert run is not None
        while True:
            page = found.get_records_for_run(run_id, cursor=cursor, limit=PAGE)
            for record in page.records:
                show(record.event_log_entry)
            cursor = page.cursor
            if not page.has_more:
                break
        if run.is_finished or not until_end:
            return run
        time.sleep(every_s)


@click.command()
@click.argument("run_id", metavar="RUN", type=RUN)
@click.option("--step", metavar="STEP",
              help="Only this step's events (a mapped step's copies included).")
@click.option("--follow", "follow_run", is_flag=True,
              help="Keep printing new events until the run ends.")
@format_option
@click.pass_context
def logs(ctx: click.Context, run_id: str, step: str | None, follow_run: bool, fmt: str) -> None:
    """Print a run's event log: time, step, event type or level, message.

    JSON: one object per line (timestamp, run_id, step_key, level, event_type, message).
    Quiet: nothing (with --follow: wait for the run to end).
    """

    def show(entry: dg.EventLogEntry) -> None:
        if not step_matches(entry, step):
            return
        if fmt == "json":
            click.echo(json.dumps(event_document(entry)))
        elif fmt == "table":
            click.echo(event_line(entry))

    follow(instance(ctx), run_id, show, until_end=follow_run)
