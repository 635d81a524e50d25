"""Answers and continuations: the two moves that take a run past its review.

``record_answer`` stores an answer before anything acts on it (the review book refuses a
second one) and marks the asking run ``answered``. ``resume`` claims the continuation in the
review book, creates it (``continuation``) and starts it, by the run queue for the review
sensor or in this process for the CLI; the claim, kept in the review's row, makes a lineage
resume once however often either is tried, and lets a sensor that died mid-way finish its
own claim on the next tick (or the CLI take over a claim whose run was never submitted).

A run is continued only once it has ended awaiting this very review (SUCCESS, tagged with
its id). A run still going is waited for; a run that ended otherwise (failed, or its worker
died and a run retry took over) is not continued from here: its re-execution from failure
runs the review step again, which takes the answer.
"""

import uuid
from typing import TYPE_CHECKING, Literal

import dagster as dg

from ecl_core.logging import get_logger
from ecl_core.review.model import Answer, Review
from ecl_dagster.review.awaiting import REVIEW_ID_TAG, REVIEW_STATE_TAG
from ecl_dagster.review.continuation import can_queue, create_continuation, execute_here, submit

if TYPE_CHECKING:
    from ecl_core.review.book import ReviewBook

__all__ = ["NotResumable", "Resumer", "mark_answered", "record_answer", "resume"]

Resumer = Literal["sensor", "cli"]
_log = get_logger("ecl.reviews")


class NotResumable(Exception):
    """A review's run cannot be continued now (``final``: nor later, from here).

    Args:
        reason: Why, for a person, with what to do instead.
        final: False when the run is still going: try again later.
    """

    def __init__(self, reason: str, *, final: bool = True) -> None:
        super().__init__(reason)
        self.final = final


def record_answer(
    instance: dg.DagsterInstance,
    book: "ReviewBook",
    ref: str,
    answer: Answer,
    answered_by: str,
    feedback: str = "",
) -> Review:
    """Store an answer (``ReviewBook.answer``) and tag the asking run ``answered``.

    The answer is stored first; a failure to tag the run is logged, not raised.

    Raises:
        UnknownReview, ValidationError, ReviewAnswerRefused: From ``ReviewBook.answer``;
            nothing is stored then.
    """
    review = book.answer(ref, answer, answered_by, feedback)
    mark_answered(instance, review)
    return review


def mark_answered(instance: dg.DagsterInstance, review: Review) -> None:
    """Tag the run that asked ``review`` as answered, if it is in ``instance`` (best effort)."""
    try:
        if instance.has_run(review.run_id):
            instance.add_run_tags(review.run_id, {REVIEW_STATE_TAG: "answered"})
    except Exception as err:  # the answer is stored; a tag is only what the runs list shows
        _log.warning("review.tag_failed", review_id=review.id, error=f"{type(err).__name__}")


def _parent(instance: dg.DagsterInstance, review: Review, by: Resumer) -> dg.DagsterRun:
    """The run to continue, once it has ended awaiting ``review``.

    Raises:
        NotResumable: It is missing, still going (not final), ended otherwise, or (for the
            sensor) was executed outside the run queue.
    """
    parent = instance.get_run_by_id(review.run_id)
    if parent is None:
        raise NotResumable(f"its run {review.run_id} is not in this instance")
    if not parent.is_finished:
        raise NotResumable(f"its run {review.run_id[:8]} is still {parent.status.value}; it "
                           "is continued once it has ended", final=False)
    if parent.status != dg.DagsterRunStatus.SUCCESS or parent.tags.get(REVIEW_ID_TAG) != review.id:
        raise NotResumable(
            f"its run {review.run_id[:8]} ended {parent.status.value}, not awaiting this "
            f"review: re-execute it from failure (`ecl reexecute {review.run_id}`); the review "
            "step takes the answer"
        )
    if by == "sensor" and not can_queue(parent):
        raise NotResumable(f"its run {review.run_id[:8]} was executed outside the run queue: "
                           f"continue it with `ecl review resume {review.id}`")
    return parent


def resume(
    instance: dg.DagsterInstance,
    book: "ReviewBook",
    review: Review,
    job: dg.JobDefinition,
    by: Resumer,
) -> dg.DagsterRun | None:
    """Start the continuation of an answered review's run; None if another has started it.

    The sensor queues it; the CLI executes it here and returns it ended, taking over a
    sensor's claim whose run was never submitted (the daemon died in between).

    Raises:
        NotResumable: See ``_parent``.
    """
    parent = _parent(instance, review, by)
    claimed = book.claim_resume(review.id, str(uuid.uuid4()), by)
    if claimed.resume_run_id is None or claimed.resumed_at is not None:
        return None
    if claimed.resumed_by != by:
        unsubmitted = instance.get_run_by_id(claimed.resume_run_id)
        if by != "cli" or (unsubmitted is not None
                           and unsubmitted.status != dg.DagsterRunStatus.NOT_STARTED):
            return None
        if not book.take_over(review.id, claimed.resume_run_id, by):
            return None
    run = create_continuation(instance, job, parent, review.step_key, claimed.resume_run_id)
    instance.add_run_tags(parent.run_id, {REVIEW_STATE_TAG: "resumed"})
    if by == "sensor":
        submit(instance, run)  # then marked: a sensor dying in between submits it next tick
    book.mark_resumed(review.id)
    return run if by == "sensor" else execute_here(instance, run)
