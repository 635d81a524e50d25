"""``ecl status RUN [--watch] [--summary]``: a run's state, steps, usage, and result or errors.

The text is a rendering of ``run_views.RunDetail``, the model ``--format json`` prints and
the HTTP API returns, so the three never disagree. ``render_summary`` is the block that
``ecl run --wait``, ``ecl analyze`` and ``scripts/run.sh`` end with: run id, status, calls,
tokens, cost, where the result is, and what to run next.
"""

import os
import sys
import time
from collections import Counter
from typing import TextIO

import click
import dagster as dg

from ecl_dagster.analyzer.sensor import MIGRATION_JOB
from ecl_dagster.cli.common import RUN, echo_model, format_option, instance
from ecl_dagster.runs.views import RunDetail, UnknownRun, UsageView, run_detail

__all__ = ["ENDED", "UI_URL_VARIABLE", "duration_text", "exit_code", "render_status",
           "render_summary", "run_status", "show_detail", "status"]

WATCH_EVERY_S = 1.0
UI_URL_VARIABLE = "ECL_UI_URL"
"""Where the Dagster UI is, for the next steps a summary gives (default ``dg dev``'s)."""
_DEFAULT_UI_URL = "http://127.0.0.1:3000"
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


def _cost_text(usage: UsageView) -> str:
    if usage.cost_usd is None:
        return f"unknown ({usage.unpriced_calls} calls of a model without a price)"
    return f"{usage.cost_usd} USD"


def render_summary(detail: RunDetail, out: TextIO, *, deliverables: str | None = None) -> None:
    """Write the summary block of a finished run: what it did, and what to run next.

    Args:
        detail: The run.
        out: Where to write.
        deliverables: The analyzer's deliverables folder, when the run wrote one.
    """
    usage = detail.usage
    short = detail.run_id[:8]
    ui = os.environ.get(UI_URL_VARIABLE, _DEFAULT_UI_URL).rstrip("/")
    rows = [
        ("run", f"{detail.run_id} ({detail.workflow})"),
        ("status", f"{detail.state} in {duration_text(detail.duration_s)}"),
        ("calls", f"{usage.calls} LLM calls ({usage.journaled_calls} from the journal)"),
        ("tokens", f"{usage.total_tokens:,} (input {usage.input_tokens:,}, "
                   f"output {usage.output_tokens:,})"),
        ("cost", _cost_text(usage)),
    ]
    if deliverables is not None:
        rows.append(("result", f"deliverables in {deliverables}"))
    elif detail.final_output is not None:
        rows.append(("result", "the final draft, above (`ecl status " + short + "` prints it)"))
    next_steps = [f"ecl status {short}", f"ecl logs {short}"]
    if detail.review_state == "awaiting":
        next_steps.insert(0, f"ecl review show {detail.review_id or '?'}")
    elif detail.state == "FAILURE":
        next_steps.insert(0, f"ecl reexecute {short}   (from failure)")
    next_steps.append(f"the UI: dg dev, then {ui}/runs/{detail.run_id}")
    rows += [("next", step) for step in next_steps]
    out.write("\n--- summary " + "-" * 48 + "\n")
    previous = ""
    for name, text in rows:
        out.write(f"{name if name != previous else '':<8}{text}\n")
        previous = name


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
@click.option("--summary", is_flag=True,
              help="Print only the summary block: calls, tokens, cost, result, next commands.")
@format_option
@click.pass_context
def status(ctx: click.Context, run_id: str, watch: bool, summary: bool, fmt: str) -> None:
    """Show a run's state, steps, revisions, provider, tokens, duration and result.

    Exits 0 when the run succeeded (or awaits a review), 1 when it did not or is still going.
    JSON: the API's RunDetail.
    """
    found = instance(ctx)
    detail = _watch(found, run_id, fmt) if watch else run_detail(found, run_id)
    if summary and fmt == "table":
        render_summary(detail, sys.stdout)
    elif not watch:
        show_detail(detail, fmt)
    ctx.exit(exit_code(detail))
