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
sensor then resumes the run within seconds when the daemon runs (``dagster dev``, the local
stack). ``resume`` executes the continuation in this process: for a run started outside the
queue (``dagster job execute``), or when no daemon runs.
"""

import argparse
import getpass
import socket
from typing import TextIO

import dagster as dg

from ecl_core.errors import ReviewAnswerRefused, ValidationError
from ecl_core.review.book import ReviewBook
from ecl_core.review.model import Review, iso_utc
from ecl_dagster.awaiting import (
    REVIEW_ID_TAG,
    REVIEW_STATE_TAG,
    answer_commands,
    review_book,
)
from ecl_dagster.continuation import can_queue
from ecl_dagster.resume import NotResumable, record_answer, resume

__all__ = ["add_review_parser", "review"]


def add_review_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """The ``review`` command's sub-commands."""
    parser = commands.add_parser("review", help="list, show, answer and resume reviews")
    actions = parser.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="reviews, newest first")
    listing.add_argument("--state", choices=["awaiting", "answered", "resumed"])
    listing.add_argument("--limit", type=_positive, default=20,
                         help="at most this many (default 20)")
    for name, text in [("show", "what to review and how to answer"),
                       ("resume", "execute the continuation of an answered review here")]:
        actions.add_parser(name, help=text).add_argument("review_id")
    for name, text in [("approve", "accept the draft or the work"),
                       ("revise", "send the draft back with feedback (a loop's validator)"),
                       ("reject", "end the workflow with an error")]:
        answer = actions.add_parser(name, help=text)
        answer.add_argument("review_id")
        answer.add_argument("--feedback", default="", required=name == "revise",
                            help="what to change (revise), or a note or the reason")


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return int(text)


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
                  "daemon runs (dagster dev, the local stack)\n")
    else:
        out.write(f"run {review.run_id[:8]} was executed outside the run queue: continue it "
                  f"with `ecl review resume {review.id}`\n")


def review(instance: dg.DagsterInstance, args: argparse.Namespace, out: TextIO,
           err: TextIO) -> int:
    """Run one ``ecl review`` command; return the exit code (0, 1 a run failed, 2 refused)."""
    book = review_book(instance)
    try:
        if args.action == "list":
            _list(book.reviews(args.state, limit=args.limit), out)
            return 0
        if args.action == "show":
            _show(book.get(args.review_id), out)
            return 0
        if args.action == "resume":
            return _resume(instance, book, args.review_id, out, err)
        by = f"cli:{getpass.getuser()}@{socket.gethostname()}"
        answered = record_answer(instance, book, args.review_id, args.action, by, args.feedback)
        _after_answer(instance, answered, out)
        return 0
    except (ReviewAnswerRefused, ValidationError) as refused:
        err.write(f"ecl: {refused}\n")
        return 2


def _resume(instance: dg.DagsterInstance, book: ReviewBook, ref: str, out: TextIO,
            err_out: TextIO) -> int:
    from ecl_dagster.definitions import job_by_name  # loads the code location: only here

    found = book.get(ref)
    if found.answer is None:
        err_out.write(f"ecl: review {found.id} has no answer yet; answer it first\n")
        return 2
    try:
        run = resume(instance, book, found, job_by_name(found.workflow), by="cli")
    except NotResumable as err:
        err_out.write(f"ecl: review {found.id}: {err}\n")
        return 2
    if run is None:
        stored = book.get(found.id)
        err_out.write(f"ecl: review {found.id} is continued already by run "
                      f"{stored.resume_run_id} ({stored.resumed_by})\n")
        return 2
    out.write(f"run {run.run_id} (continues {found.run_id[:8]}): {run.status.value}\n")
    if run.tags.get(REVIEW_STATE_TAG) == "awaiting":
        out.write(f"it awaits review {run.tags.get(REVIEW_ID_TAG)}: see `ecl review show "
                  f"{run.tags.get(REVIEW_ID_TAG)}`\n")
    return 0 if run.status == dg.DagsterRunStatus.SUCCESS else 1
