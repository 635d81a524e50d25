"""``ecl status RUN [--watch]``: a run's state, steps, revisions, usage, and result or errors.

The text is a rendering of ``run_views.RunDetail``, the model ``--format json`` prints and
the HTTP API returns, so the three never disagree.
"""

import sys
import time
from collections import Counter
from typing import TextIO

import click
import dagster as dg

from ecl_dagster.assets.sensor import MIGRATION_JOB
from ecl_dagster.cli.common import RUN, echo_model, format_option, instance
from ecl_dagster.run_views import RunDetail, UnknownRun, UsageView, run_detail

__all__ = ["ENDED", "duration_text", "exit_code", "render_status", "run_status", "show_detail",
           "status"]

WATCH_EVERY_S = 1.0
ENDED = frozenset({"SUCCESS", "FAILURE", "CANCELED"})
"""The states of a run that has ended (Dagster's finished statuses)."""


def duration_text(seconds: float | None) -> str:
    """``4.2 s``, ``3 min 07 s``, ``2 h 05 min``; ``-`` before the run started."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def _usage_line(name: str, usage: UsageView) -> str:
    cost = (f"cost {usage.cost_usd} USD" if usage.cost_usd is not None else
            f"cost unknown ({usage.unpriced_calls} calls of a model without a price)")
    return (f"{name}: {usage.calls} LLM calls ({usage.journaled_calls} from the journal), "
            f"{usage.total_tokens:,} tokens (input {usage.input_tokens:,}, cache write "
            f"{usage.cache_creation_input_tokens:,}, cache read "
            f"{usage.cache_read_input_tokens:,}, output {usage.output_tokens:,}), {cost}\n")


def render_status(detail: RunDetail, out: TextIO) -> None:
    """Write ``detail`` for a person: the text of ``ecl status``."""
    out.write(f"run {detail.run_id} ({detail.workflow}): {detail.state}\n")
    if detail.worker_gone is not None:
        out.write(
            f"worker gone: {detail.worker_gone} is not running; `ecl reexecute "
            f"{detail.run_id}` marks the run failed and re-executes it from failure\n"
        )
    if detail.parent_run_id:
        out.write(f"re-execution of {detail.parent_run_id} (root {detail.root_run_id})\n")
    out.write(
        f"provider: {detail.provider or 'none yet'}   tokens: {detail.usage.total_tokens:,}   "
        f"duration: {duration_text(detail.duration_s)}"
        + ("" if detail.ended_at or not detail.started_at else " (running)")
        + f"   created: {detail.created_at}\n"
    )
    counts = Counter(step.state for step in detail.steps)
    out.write(
        f"steps: {counts['succeeded']} succeeded, {counts['skipped']} skipped, "
        f"{counts['failed']} failed"
        + (f", {counts['running']} running" if counts["running"] else "") + "\n"
    )
    for step in detail.steps:
        retries = f"  ({step.attempts} attempts)" if step.attempts > 1 else ""
        timing = f"  {duration_text(step.duration_s)}" if step.state != "skipped" else ""
        out.write(f"  {step.state:<10} {step.key:<28}{timing}{retries}".rstrip() + "\n")
    out.write(f"revisions: {detail.revisions}\n")
    out.write(_usage_line("usage", detail.usage))
    if detail.lineage_usage is not None:
        partition = detail.tags.get("dagster/partition")
        name = (f"request {partition!r} usage" if detail.workflow == MIGRATION_JOB and partition
                else "lineage usage")
        out.write(_usage_line(name, detail.lineage_usage))
    if detail.review_state == "awaiting":
        review_id = detail.review_id or "?"
        out.write(f"awaiting review {review_id}: the run ended here and resumes once a person "
                  f"answers; see `ecl review show {review_id}`\n")
    elif detail.review_state is not None:
        out.write(f"review {detail.review_id or '?'}: {detail.review_state}\n")
    for error in detail.errors:
        out.write(f"error: {error}\n")
    if detail.final_output is not None:
        out.write(f"final draft:\n{detail.final_output}\n")


def run_status(instance: dg.DagsterInstance, run_id: str, out: TextIO) -> bool:
    """Write a run's status for a person (``render_status``); return whether it succeeded.

    Raises:
        KeyError: No run with that (full) id.
    """
    try:
        detail = run_detail(instance, run_id)
    except UnknownRun:
        raise KeyError(run_id) from None
    render_status(detail, out)
    return detail.state == "SUCCESS"


def show_detail(detail: RunDetail, fmt: str) -> None:
    """Print ``detail`` in ``fmt``: the status text, the RunDetail JSON, or the run id."""
    if fmt == "json":
        echo_model(detail)
    elif fmt == "quiet":
        click.echo(detail.run_id)
    else:
        render_status(detail, sys.stdout)


def exit_code(detail: RunDetail) -> int:
    """0 when the run succeeded, else 1."""
    return 0 if detail.state == "SUCCESS" else 1


def _progress(detail: RunDetail) -> tuple[object, ...]:
    return (detail.state, tuple((s.key, s.state, s.attempts) for s in detail.steps),
            detail.review_state)


def _watch(found: dg.DagsterInstance, run_id: str, fmt: str) -> RunDetail:
    """Print the run again whenever its state or a step's changes, until it ends."""
    last: tuple[object, ...] | None = None
    while True:
        detail = run_detail(found, run_id)
        ended = detail.state in ENDED
        if _progress(detail) != last:
            last = _progress(detail)
            if fmt == "json":  # JSON lines: one RunDetail per change
                click.echo(detail.model_dump_json())
            elif fmt == "table":
                if sys.stdout.isatty():
                    click.clear()
                else:
                    click.echo(f"--- {time.strftime('%H:%M:%S')}")
                render_status(detail, sys.stdout)
        if ended:
            if fmt == "quiet":
                click.echo(detail.run_id)
            return detail
        time.sleep(WATCH_EVERY_S)


@click.command()
@click.argument("run_id", metavar="RUN", type=RUN)
@click.option("--watch", is_flag=True,
              help="Print it again on every change until the run ends (JSON: one per line).")
@format_option
@click.pass_context
def status(ctx: click.Context, run_id: str, watch: bool, fmt: str) -> None:
    """Show a run's state, steps, revisions, provider, tokens, duration and result.

    Exits 0 when the run succeeded (or awaits a review), 1 when it did not or is still going.
    JSON: the API's RunDetail.
    """
    found = instance(ctx)
    detail = _watch(found, run_id, fmt) if watch else run_detail(found, run_id)
    if not watch:
        show_detail(detail, fmt)
    ctx.exit(exit_code(detail))
