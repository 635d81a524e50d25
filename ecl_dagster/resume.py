"""Answers and continuations: the two moves that take a run past its review.

``record_answer`` stores an answer before anything acts on it (the review book refuses a
second one) and marks the asking run ``answered``. ``resume`` claims the continuation in the
review book, creates it (``continuation``) and starts it, by the run queue for the review
sensor or in this process for the CLI; the claim, kept in the review's row, makes a lineage
resume once however often either is tried, and lets a sensor that died mid-way finish its
own claim on the next tick.
"""

import uuid
from typing import Literal

import dagster as dg

from ecl_core.review.book import ReviewBook
from ecl_core.review.model import Answer, Review
from ecl_dagster.awaiting import REVIEW_STATE_TAG
from ecl_dagster.continuation import can_queue, create_continuation, execute_here, submit

__all__ = ["Resumer", "record_answer", "resume"]

Resumer = Literal["sensor", "cli"]


def record_answer(
    instance: dg.DagsterInstance,
    book: ReviewBook,
    ref: str,
    answer: Answer,
    answered_by: str,
    feedback: str = "",
) -> Review:
    """Store an answer (``ReviewBook.answer``) and tag the asking run ``answered``.

    Raises:
        UnknownReview, ValidationError, ReviewAnswerRefused: From ``ReviewBook.answer``;
            nothing is stored then.
    """
    review = book.answer(ref, answer, answered_by, feedback)
    mark_answered(instance, review)
    return review


def mark_answered(instance: dg.DagsterInstance, review: Review) -> None:
    """Tag the run that asked ``review`` as answered, if that run is in ``instance``."""
    if instance.has_run(review.run_id):
        instance.add_run_tags(review.run_id, {REVIEW_STATE_TAG: "answered"})


def resume(
    instance: dg.DagsterInstance,
    book: ReviewBook,
    review: Review,
    job: dg.JobDefinition,
    by: Resumer,
) -> dg.DagsterRun | None:
    """Start the continuation of an answered review's run; None if it is not ``by``'s to start.

    The sensor queues it and leaves a run started outside the queue to the CLI (it has no
    origin to queue with, ``continuation.can_queue``); the CLI executes it here and returns
    it ended. Neither starts a continuation another has claimed.

    Raises:
        dg.DagsterInvariantViolationError: The run that asked is not in the instance.
    """
    parent = instance.get_run_by_id(review.run_id)
    if parent is None:
        raise dg.DagsterInvariantViolationError(
            f"review {review.id}: its run {review.run_id} is not in this instance"
        )
    if by == "sensor" and not can_queue(parent):
        return None
    claimed = book.claim_resume(review.id, str(uuid.uuid4()), by)
    if claimed.resumed_by != by or claimed.resume_run_id is None or claimed.resumed_at:
        return None
    run = create_continuation(instance, job, parent, review.step_key, claimed.resume_run_id)
    instance.add_run_tags(parent.run_id, {REVIEW_STATE_TAG: "resumed"})
    if by == "sensor":
        submit(instance, run)
        book.mark_resumed(review.id)
        return run
    book.mark_resumed(review.id)
    return execute_here(instance, run)
