"""``ecl review``: list, read and answer reviews, and continue a run in this process.

::

    ecl review list [--state awaiting|answered|resumed]   newest first
    ecl review show ID                                    what to review, and how to answer
    ecl review approve ID [--feedback TEXT]
    ecl review revise ID --feedback TEXT                  a loop's validator only
    ecl review reject ID [--feedback TEXT]                ends the workflow with an error
    ecl review resume ID                                  run the continuation here

ID is a review's id or a unique prefix of it (4 characters or more). An answer is stored
before anything else happens and is recorded as given by ``cli:<user>@<host>``; the review
sensor then resumes the run within seconds when the daemon runs (``dg dev``, the local
stack). ``resume`` executes the continuation in this process: for a run started outside the
queue (``dagster job execute``), or when no daemon runs.
"""

import getpass
import socket
import sys
from typing import TextIO

import click
import dagster as dg

from ecl_core.errors import ReviewAnswerRefused, ValidationError
from ecl_core.review.model import Review, iso_utc
from ecl_dagster.cli.common import Refused, echo_json, echo_listing, format_option, instance
from ecl_dagster.review.awaiting import (
    REVIEW_ID_TAG,
    REVIEW_STATE_TAG,
    answer_commands,
    review_book,
)
from ecl_dagster.review.continuation import can_queue
from ecl_dagster.review.resume import NotResumable, record_answer, resume

__all__ = ["review"]

_REFUSED = (ReviewAnswerRefused, ValidationError)
"""What a person asked that cannot be done: an unknown id, a second answer, a bad feedback."""


def _list(reviews: list[Review], out: TextIO) -> None:
    if not reviews:
        out.write("no reviews\n")
        return
    out.write(f"{'ID':<13} {'STATE':<9} {'WORKFLOW':<20} {'STEP':<22} {'RUN':<9} ASKED\n")
    for r in reviews:
        out.write(f"{r.id:<13} {r.state:<9} {r.workflow:<20} {r.step_key:<22} "
                  f"{r.run_id[:8]:<9} {iso_utc(r.asked_at)}\n")


def _show(review: Review, out: TextIO) -> None:
    out.write(
        f"review {review.id} ({review.kind}): {review.state}\n"
        f"workflow: {review.workflow}   step: {review.step_key}\n"
        f"run: {review.run_id} (lineage {review.lineage})\n"
        f"asked: {iso_utc(review.asked_at)}   deadline: {review.describe_deadline()}\n"
        f"answers: {', '.join(review.answers)}\n"
    )
    if review.answer is not None:
        out.write(f"answer: {review.answered()}\n")
        if review.feedback:
            out.write(f"feedback: {review.feedback}\n")
    if review.resume_run_id is not None:
        out.write(f"continued by: run {review.resume_run_id} ({review.resumed_by})\n")
    if review.resume_error is not None:
        out.write(f"not continued by the review sensor: {review.resume_error}\n")
    out.write(f"\nto review:\n{review.subject}\n")
    if review.answer is None:
        out.write(f"\nanswer with:\n{answer_commands(review)}\n")


def _after_answer(instance: dg.DagsterInstance, review: Review, out: TextIO) -> None:
    out.write(f"review {review.id}: {review.answered()}\n")
    parent = instance.get_run_by_id(review.run_id)
    if parent is not None and can_queue(parent):
        out.write(f"the review sensor resumes run {review.run_id[:8]} within seconds while the "
                  "daemon runs (dg dev, the local stack)\n")
    else:
        out.write(f"run {review.run_id[:8]} was executed outside the run queue: continue it "
                  f"with `ecl review resume {review.id}`\n")


def _show_review(found: Review, fmt: str) -> None:
    if fmt == "json":
        echo_json(found.model_dump(mode="json"))
    elif fmt == "quiet":
        click.echo(found.id)
    else:
        _show(found, sys.stdout)


@click.group()
def review() -> None:
    """List, show, answer and resume reviews by a person.

    ID is a review's id or a unique prefix of it (4 characters or more). Answers are
    recorded as given by cli:<user>@<host>; the review sensor resumes a queued run within
    seconds while the daemon runs, `ecl review resume ID` continues one here.
    """


@review.command("list")
@click.option("--state", type=click.Choice(["awaiting", "answered", "resumed"]))
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="At most this many.")
@format_option
@click.pass_context
def list_reviews(ctx: click.Context, state: str | None, limit: int, fmt: str) -> None:
    """Reviews, newest first.

    JSON: a list of reviews; quiet: their ids.
    """
    reviews = review_book(instance(ctx)).reviews(state, limit=limit)
    echo_listing(fmt, reviews, (r.id for r in reviews), lambda: _list(reviews, sys.stdout))


@review.command("show")
@click.argument("review_id", metavar="ID")
@format_option
@click.pass_context
def show(ctx: click.Context, review_id: str, fmt: str) -> None:
    """What to review, and how to answer.

    JSON: the review; quiet: its id.
    """
    try:
        found = review_book(instance(ctx)).get(review_id)
    except _REFUSED as refused:
        raise Refused(str(refused)) from None
    _show_review(found, fmt)


def _answer_command(answer: str, text: str, feedback_help: str,
                    feedback_required: bool) -> click.Command:
    @click.argument("review_id", metavar="ID")
    @click.option("--feedback", default="", required=feedback_required, help=feedback_help)
    @format_option
    @click.pass_context
    def command(ctx: click.Context, review_id: str, feedback: str, fmt: str) -> None:
        found = instance(ctx)
        by = f"cli:{getpass.getuser()}@{socket.gethostname()}"
        try:
            answered = record_answer(found, review_book(found), review_id, answer, by,
                                     feedback)
        except _REFUSED as refused:
            raise Refused(str(refused)) from None
        if fmt == "table":
            _after_answer(found, answered, sys.stdout)
        else:
            _show_review(answered, fmt)

    command.__doc__ = text
    return review.command(answer)(command)


_answer_command("approve", "Accept the draft or the work.",
                "A note, kept with the answer.", False)
_answer_command("revise", "Send the draft back with feedback (a loop's validator only).",
                "What to change.", True)
_answer_command("reject", "End the workflow with an error.", "The reason.", False)


@review.command("resume")
@click.argument("review_id", metavar="ID")
@format_option
@click.pass_context
def resume_command(ctx: click.Context, review_id: str, fmt: str) -> None:
    """Execute an answered review's continuation here.

    JSON: the new run's RunDetail; quiet: its id. Exits 0 when the continuation succeeded
    (or awaits the next review), 1 when it did not.
    """
    from ecl_dagster.definitions import job_by_name  # loads the code location: only here
    from ecl_dagster.runs.views import run_detail

    found = instance(ctx)
    book = review_book(found)
    try:
        answered = book.get(review_id)
    except _REFUSED as refused:
        raise Refused(str(refused)) from None
    if answered.answer is None:
        raise Refused(f"review {answered.id} has no answer yet; answer it first")
    try:
        run = resume(found, book, answered, job_by_name(answered.workflow), by="cli")
    except NotResumable as err:
        raise Refused(f"review {answered.id}: {err}") from None
    if run is None:
        stored = book.get(answered.id)
        raise Refused(f"review {answered.id} is continued already by run "
                      f"{stored.resume_run_id} ({stored.resumed_by})")
    if fmt == "json":
        echo_json(run_detail(found, run.run_id).model_dump(mode="json"))
    elif fmt == "quiet":
        click.echo(run.run_id)
    else:
        _resumed(run, answered, sys.stdout)
    ctx.exit(0 if run.status == dg.DagsterRunStatus.SUCCESS else 1)


def _resumed(run: dg.DagsterRun, answered: Review, out: TextIO) -> None:
    out.write(f"run {run.run_id} (continues {answered.run_id[:8]}): {run.status.value}\n")
    if run.tags.get(REVIEW_STATE_TAG) == "awaiting":
        out.write(f"it awaits review {run.tags.get(REVIEW_ID_TAG)}: see `ecl review show "
                  f"{run.tags.get(REVIEW_ID_TAG)}`\n")
